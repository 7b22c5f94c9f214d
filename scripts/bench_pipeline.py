#!/usr/bin/env python3
"""End-to-end pipeline benchmark (issue 7): inbound messages parsed and stored per second per worker process.

Prints figures; never asserts on time. Against a scratch PostgreSQL database (created and dropped here, on
127.0.0.1 as user postgres unless `--pg` says otherwise) with the demo data loaded, it measures:

1. intake: N generated chef orders stored through `ordering.intake.receive` (a recording queue, no worker);
2. warm: those N messages processed by calling `jobs.process_message` in this one process, with one runtime
   installed once, the way `chat2order worker` (WarmWorker, a non-forking RQ worker) runs them;
3. cold ("before"): M more messages, each processed with a fresh `Runtime` (new engine, new
   `ContextBuilder`, so the catalog index is rebuilt), i.e. a worker that rebuilds its state per job.
   Python's module caches (spaCy pipelines, pint registry) survive in this process, so this figure is
   still kinder than a fork-per-job worker that imports the parser inside each work-horse;
4. rq (unless `--rq 0`): R more messages stored with their `process_message` jobs enqueued on a queue of its
   own in Redis (database 13 by default), then `chat2order worker --burst --batch B --queue <it>` run as a
   subprocess; jobs/s is taken from the confirmations the jobs wrote (first to last, so start-up is excluded;
   jobs run in a batch leave no RQ timestamps), and the worker's CPU
   per job (`rq_worker_cpu_ms_per_job`: the burst's CPU minus an empty burst's, i.e. without start-up and
   warm-up; steadier than jobs/s on a shared machine).

`--profile` adds the top cProfile entries (cumulative) of the warm phase.

    .venv/bin/python scripts/bench_pipeline.py                 # readable summary
    .venv/bin/python scripts/bench_pipeline.py --json          # one JSON object
    .venv/bin/python scripts/bench_pipeline.py --messages 50 --cold 5 --rq 20 --json   # smoke size
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _admin_url(pg: str, database: str) -> str:
    return f"postgresql+psycopg://{pg}/{database}"


def create_database(pg: str) -> tuple[str, str]:
    """A fresh scratch database; returns (name, SQLAlchemy URL)."""
    import psycopg

    name = f"c2o_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(f"postgresql://{pg}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name, _admin_url(pg, name)


def drop_database(pg: str, name: str) -> None:
    import psycopg

    with psycopg.connect(f"postgresql://{pg}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _catalog_names(maker: Any, supplier_id: int) -> list[Any]:
    from sqlalchemy import select

    from chat2order.parsing.model import CatalogEntry
    from chat2order.tables import CatalogItem

    with maker() as session:
        rows = session.execute(
            select(CatalogItem.sku, CatalogItem.name).where(CatalogItem.supplier_id == supplier_id)
        ).all()
    return [CatalogEntry(sku=sku, name=name, pack="", unit="") for sku, name in rows]


def make_bodies(maker: Any, supplier_id: int, count: int, seed: int) -> list[str]:
    """Chef orders over the demo catalog, by the same generator as bench_parse (typos, mixed units)."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from bench_parse import make_messages

    return make_messages(_catalog_names(maker, supplier_id), count, seed)


def add_contacts(maker: Any, restaurant_id: int, count: int) -> list[int]:
    """A chef contact per message, so every message is a new order (no earlier draft turns it into a reply),
    as `chat2order predict` does."""
    from chat2order.tables import Contact

    with maker.begin() as session:
        contacts = [Contact(restaurant_id=restaurant_id, name=f"bench chef {i}", role="chef", locale="en-US")
                    for i in range(count)]
        session.add_all(contacts)
        session.flush()
        return [c.id for c in contacts]


def receive_all(rt: Any, demo: Any, bodies: list[str], contacts: list[int], tag: str) -> tuple[list[int], float]:
    """Store each body through intake (chat channel with authenticated hints); returns ids and seconds."""
    from chat2order.ordering import intake

    ids = []
    started = time.perf_counter()
    for i, (body, contact_id) in enumerate(zip(bodies, contacts, strict=True)):
        received = intake.receive(rt, intake.Incoming(
            channel="chat", provider_id=f"bench:{tag}:{i}", sender=f"bench-chef-{tag}-{i}",
            recipient=None, body=body, raw=json.dumps({"text": body}),
            restaurant_id=demo.restaurant_id, supplier_id=demo.supplier_id, contact_id=contact_id,
        ))
        if received.status != intake.RECEIVED:
            raise SystemExit(f"intake held message {i} ({received.status}); the benchmark expects orders")
        ids.append(received.message_id)
    return ids, time.perf_counter() - started


def outcome(maker: Any, ids: list[int]) -> dict[str, Any]:
    """Statuses of the processed messages and the order lines they made (the benchmark must parse for real)."""
    from sqlalchemy import func, select

    from chat2order.tables import InboundMessage, Order, OrderLine

    with maker() as session:
        statuses = dict(session.execute(
            select(InboundMessage.status, func.count()).where(InboundMessage.id.in_(ids))
            .group_by(InboundMessage.status)).all())
        lines = session.scalar(
            select(func.count(OrderLine.id)).join(Order, Order.id == OrderLine.order_id)
            .where(Order.source_message_id.in_(ids))) or 0
    return {"statuses": statuses, "lines_per_msg": round(lines / max(1, len(ids)), 2)}


def run_warm(rt: Any, ids: list[int], profile: bool, profile_out: str | None = None) -> tuple[float, float, str]:
    """Seconds of wall clock and of this process's CPU for the jobs, and the profile text if asked."""
    from chat2order import jobs

    jobs.set_runtime(rt)
    profiler = cProfile.Profile() if profile else None
    cpu_started = time.process_time()
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    for message_id in ids:
        jobs.process_message(message_id)
    if profiler:
        profiler.disable()
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    text = ""
    if profiler:
        if profile_out:
            profiler.dump_stats(profile_out)
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(35)
        text = out.getvalue()
    return elapsed, cpu, text


def run_cold(settings: Any, ids: list[int]) -> float:
    from chat2order import jobs
    from chat2order.runtime import Runtime

    started = time.perf_counter()
    for message_id in ids:
        rt = Runtime(settings, queue=jobs.RecordingQueue())
        jobs.set_runtime(rt)
        jobs.process_message(message_id)
        rt.close()
    return time.perf_counter() - started


def run_rq(url: str, redis_url: str, ids: list[int], outbox_dir: Path, batch: int) -> dict[str, Any]:
    from redis import Redis
    from rq import Queue
    from rq.job import Job

    from chat2order.jobs import RQQueue

    conn = Redis.from_url(redis_url)
    # A queue of our own: the burst worker works only these jobs even if the Redis database is shared.
    name = f"c2o-bench-{os.getpid()}"
    try:
        queue = RQQueue(redis_url, name, connection=conn)
        for message_id in ids:
            queue.enqueue("process_message", message_id)
        env = dict(os.environ, DATABASE_URL=url, REDIS_URL=redis_url, OUTBOX_DIR=str(outbox_dir),
                   VAR_DIR=str(outbox_dir.parent), RQ_LOG_LEVEL="WARNING")
        for key in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "SMTP_RELAY_URL", "METRICS_PORT"):
            env.pop(key, None)  # deliveries go to the scratch outbox folder, never outside
        command = [str(Path(sys.executable).parent / "chat2order"), "worker", "--burst", "--batch", str(batch),
                   "--queue", name]
        # The worker's CPU per job: the burst's minus an empty burst's (start-up, warm-up, the scheduler).
        empty: dict[str, float] = {}

        def run_empty() -> None:
            started = time.perf_counter()
            subprocess.run([*command[:-1], f"{name}-empty"], check=False, env=env, capture_output=True, text=True,
                           cwd=ROOT)
            empty["wall"] = time.perf_counter() - started

        idle_cpu = _child_cpu(run_empty)
        started = time.perf_counter()
        holder: dict[str, Any] = {}
        burst_cpu = _child_cpu(lambda: holder.update(proc=subprocess.run(command, check=False, env=env,
                                                                          capture_output=True, text=True, cwd=ROOT)))
        proc = holder["proc"]
        wall = time.perf_counter() - started
        if proc.returncode != 0:
            raise SystemExit(f"chat2order worker --burst failed:\n{proc.stderr[-3000:]}")
        finished = Queue(name, connection=conn).finished_job_registry.get_job_ids()
        by_kind: dict[str, int] = {}
        for job in Job.fetch_many(finished, connection=conn):
            if job is not None:
                kind = job.func_name.rsplit(".", 1)[-1]
                by_kind[kind] = by_kind.get(kind, 0) + 1
        return {"rq_jobs": len(ids), "rq_batch": batch,
                "rq_wall_s": round(wall, 2), "rq_empty_wall_s": round(empty["wall"], 2),
                "rq_finished_by_job": by_kind,
                "rq_worker_cpu_ms_per_job": round(1000 * max(0.0, burst_cpu - idle_cpu) / len(ids), 2)}
    finally:
        for queue_name in (name, f"{name}-dispatch", f"{name}-empty", f"{name}-empty-dispatch"):
            _drop_queue(conn, queue_name)


def rq_rate(maker: Any, ids: list[int]) -> dict[str, Any]:
    """Jobs per second from the messages' own rows: the span between the first and the last confirmation
    written (one per processed message), so start-up is excluded whether a job ran in a batch or through RQ
    (batched jobs leave no RQ timestamps)."""
    from sqlalchemy import func, select

    from chat2order.tables import OutboundMessage

    with maker() as session:
        count, first, last = session.execute(
            select(func.count(func.distinct(OutboundMessage.inbound_message_id)), func.min(OutboundMessage.created_at),
                   func.max(OutboundMessage.created_at)).where(OutboundMessage.inbound_message_id.in_(ids))).one()
    span = (last - first).total_seconds() if count > 1 else 0.0
    return {"rq_finished": int(count), "rq_span_s": round(span, 3),
            "rq_jobs_per_s": round((count - 1) / span, 1) if span > 0 else None}


def _child_cpu(run: Any) -> float:
    """CPU seconds (user + system) of the child processes `run()` waited for."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    run()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _drop_queue(conn: Any, name: str) -> None:
    """Delete the benchmark queue with its jobs and registries, leaving the rest of the database alone."""
    from rq import Queue
    from rq.job import Job

    queue = Queue(name, connection=conn)
    registries = (queue.finished_job_registry, queue.failed_job_registry, queue.started_job_registry,
                  queue.deferred_job_registry, queue.scheduled_job_registry, queue.canceled_job_registry)
    for registry in registries:
        for job in Job.fetch_many(registry.get_job_ids(), connection=conn):
            if job is not None:
                job.delete(remove_from_queue=False)
        conn.delete(registry.key)
    queue.delete(delete_jobs=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--messages", type=int, default=500, help="messages for the warm run")
    ap.add_argument("--cold", type=int, default=40, help="messages for the cold-runtime run")
    ap.add_argument("--rq", type=int, default=300, help="jobs for the RQ burst worker run (0 = skip)")
    ap.add_argument("--batch", type=int, default=8, help="the RQ worker's `--batch` (1 = one job per dequeue)")
    ap.add_argument("--repeats", type=int, default=1, help="warm runs (median reported)")
    ap.add_argument("--pg", default="postgres@127.0.0.1:5432", help="user@host:port of a trusting PostgreSQL")
    ap.add_argument("--redis", default="redis://127.0.0.1:6379/13",
                    help="Redis database for the RQ run (a queue of its own, deleted afterwards)")
    ap.add_argument("--profile", action="store_true", help="print the warm run's top cProfile entries")
    ap.add_argument("--profile-out", default=None, help="also write the warm run's cProfile stats to this file")
    ap.add_argument("--keep", action="store_true", help="do not drop the scratch database")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "src"))

    from chat2order.config import Settings
    from chat2order.db import make_engine, session_factory
    from chat2order.jobs import RecordingQueue
    from chat2order.migrate import upgrade
    from chat2order.onboarding.demo import load_demo
    from chat2order.runtime import Runtime

    name, url = create_database(args.pg)
    tmp = tempfile.TemporaryDirectory(prefix="c2o-bench-pipeline-")
    try:
        outbox = Path(tmp.name) / "outbox"
        settings = Settings(database_url=url, var_dir=Path(tmp.name), outbox_dir=outbox)
        engine = make_engine(url)
        upgrade(url, engine=engine)
        maker = session_factory(engine)
        demo = load_demo(maker, mail_domain=settings.mail_domains[0])
        total = args.messages * args.repeats + args.cold + args.rq
        bodies = make_bodies(maker, demo.supplier_id, total, seed=7)
        contacts = add_contacts(maker, demo.restaurant_id, total)
        rt = Runtime(settings, engine=engine, sessionmaker=maker, queue=RecordingQueue())
        result: dict[str, Any] = {"machine": f"{os.cpu_count()} cores, Python {sys.version.split()[0]}",
                                  "loadavg_start": os.getloadavg()[0]}

        # Warm: one runtime for the whole run; its first job builds the index (as warm_up would at start).
        pos, warm_rates, warm_cpu, profile_text, warm_ids, intake_rates = 0, [], [], "", [], []
        t0 = time.perf_counter()
        with maker() as session:
            rt.contexts.index_for(session, demo.supplier_id)
        result["index_warmup_s"] = round(time.perf_counter() - t0, 3)
        for r in range(args.repeats):
            n = args.messages
            ids, intake_s = receive_all(rt, demo, bodies[pos:pos + n], contacts[pos:pos + n], f"warm{r}")
            pos += n
            intake_rates.append(n / intake_s)
            elapsed, cpu, text = run_warm(rt, ids, (args.profile or bool(args.profile_out)) and r == 0,
                                          args.profile_out)
            profile_text = profile_text or text
            warm_rates.append(n / elapsed)
            if not text:  # the profiled run's CPU time is the profiler's
                warm_cpu.append(1000 * cpu / n)
            warm_ids.extend(ids)
        result.update(intake_msgs_per_s=round(statistics.median(intake_rates), 1),
                      warm_msgs_per_s=round(statistics.median(warm_rates), 1),
                      warm_ms_per_msg=round(1000 / statistics.median(warm_rates), 2),
                      # This process's CPU per message (PostgreSQL's own work not included): steadier than
                      # wall clock on a shared machine.
                      warm_cpu_ms_per_msg=round(statistics.median(warm_cpu), 2) if warm_cpu else None,
                      warm_outcome=outcome(maker, warm_ids))
        if args.cold:
            ids, _ = receive_all(rt, demo, bodies[pos:pos + args.cold], contacts[pos:pos + args.cold], "cold")
            pos += args.cold
            elapsed = run_cold(settings, ids)
            result.update(cold_msgs_per_s=round(args.cold / elapsed, 1),
                          cold_ms_per_msg=round(1000 * elapsed / args.cold, 1),
                          warm_vs_cold=round(result["warm_msgs_per_s"] / (args.cold / elapsed), 1),
                          cold_outcome=outcome(maker, ids))
        if args.rq:
            ids, _ = receive_all(rt, demo, bodies[pos:pos + args.rq], contacts[pos:pos + args.rq], "rq")
            result.update(run_rq(url, args.redis, ids, outbox, args.batch))
            result.update(rq_rate(maker, ids))
            result["rq_outcome"] = outcome(maker, ids)
        result["loadavg_end"] = os.getloadavg()[0]
        engine.dispose()
    finally:
        tmp.cleanup()
        if not args.keep:
            drop_database(args.pg, name)
    if args.json:
        print(json.dumps(result, default=str))
        return
    for key, value in result.items():
        print(f"{key:>22}: {value}")
    if profile_text:
        print(profile_text)


if __name__ == "__main__":
    main()
