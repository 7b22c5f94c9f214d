"""Benchmark the Twilio SMS webhook under gunicorn on loopback: latency, throughput, exactly-once storage.

Creates a throw-away PostgreSQL database, migrates it, adds one supplier and N chefs, starts gunicorn
(`chat2order.web:create_app()`, REDIS_URL set so processing is only queued, not run), then posts COUNT
correctly signed webhooks at CONCURRENCY connections, every tenth one a redelivery of an earlier
MessageSid. Prints figures (one JSON object with --json); never asserts on time.

    .venv/bin/python scripts/bench_webhook.py --count 2000 --concurrency 20 [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
ADMIN_URL = os.environ.get("TEST_DATABASE_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
TOKEN = "bench-token"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _setup_database(chefs: int) -> tuple[str, str, list[str]]:
    from sqlalchemy import create_engine, text

    from chat2order.db import make_engine, normalise_url, session_factory
    from chat2order.migrate import upgrade
    from chat2order.tables import Account, Contact, Restaurant, Supplier

    admin_url = normalise_url(ADMIN_URL)
    name = f"c2o_bench_{secrets.token_hex(3)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    engine = make_engine(url)
    upgrade(url, engine=engine)
    phones = [f"+1212555{i:04d}" for i in range(chefs)]
    with session_factory(engine)() as session:
        supplier = Supplier(slug="bench", name="Bench Produce", inbound_phone="+12125559999")
        restaurant = Restaurant(slug="bench-bistro", name="Bench Bistro")
        session.add_all([supplier, restaurant])
        session.flush()
        session.add(Account(restaurant_id=restaurant.id, supplier_id=supplier.id))
        session.add_all(Contact(restaurant_id=restaurant.id, name=f"chef {p}", phone=p) for p in phones)
        session.commit()
    engine.dispose()
    return name, url, phones


def _drop_database(name: str) -> None:
    from sqlalchemy import create_engine, text

    from chat2order.db import normalise_url

    admin = create_engine(normalise_url(ADMIN_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children (gunicorn's workers), from /proc (Linux)."""
    ticks = os.sysconf("SC_CLK_TCK")
    pids = [pid]
    try:
        pids += [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        pass
    total = 0.0
    for one in pids:
        try:
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    count = max(1, min(args.count, 20_000))

    from chat2order.channels.twilio import sign

    name, url, phones = _setup_database(chefs=50)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_URL": args.redis_url,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "PUBLIC_BASE_URL": base,
    }
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "--bind", f"127.0.0.1:{port}", "--worker-class", "gthread",
         "--workers", str(args.workers), "--threads", str(args.threads), "--log-level", "warning",
         "chat2order.web:create_app()"],
        env=env,
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1).read()
                break
            except OSError:
                time.sleep(0.2)

        def post(i: int) -> tuple[float, int]:
            sid_index = i - 7 if i % 10 == 9 else i  # every tenth post redelivers an earlier message
            form = [
                ("MessageSid", f"SMbench{sid_index:08d}"),
                ("From", phones[sid_index % len(phones)]),
                ("To", "+12125559999"),
                ("Body", f"{1 + i % 5} cases roma tomatoes"),
                ("NumMedia", "0"),
            ]
            request = urllib.request.Request(
                base + "/twilio/sms",
                data=urlencode(form).encode(),
                headers={"X-Twilio-Signature": sign(base + "/twilio/sms", form, TOKEN),
                         "Content-Type": "application/x-www-form-urlencoded"},
            )
            started = time.perf_counter()
            with urllib.request.urlopen(request, timeout=10) as response:
                response.read()
                return time.perf_counter() - started, response.status

        post(count + 1_000_000)  # warm each worker's pools before counting
        post(count + 1_000_001)
        cpu_before = cpu_seconds(server.pid)
        started = time.perf_counter()
        with ThreadPoolExecutor(args.concurrency) as pool:
            results = list(pool.map(post, range(count)))
        elapsed = time.perf_counter() - started
        server_cpu = cpu_seconds(server.pid) - cpu_before
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)

    from sqlalchemy import func, select

    from chat2order.db import make_engine, session_factory
    from chat2order.tables import InboundMessage

    engine = make_engine(url)
    with session_factory(engine)() as session:
        stored = int(session.scalar(select(func.count()).select_from(InboundMessage)) or 0)
    engine.dispose()
    _drop_database(name)
    import redis

    # Remove only what this run queued (process_message jobs for the throw-away database).
    conn = redis.Redis.from_url(args.redis_url)
    for key in conn.scan_iter("rq:job:process_message-*", count=1000):
        conn.delete(key)
    conn.delete("rq:queue:chat2order")

    latencies = sorted(r[0] * 1000 for r in results)
    distinct = len({i - 7 if i % 10 == 9 else i for i in range(count)}) + 2  # + the two warm-up posts
    figures = {
        "webhooks": count,
        "concurrency": args.concurrency,
        "ok": sum(1 for _, status in results if status == 200),
        "p50_ms": round(statistics.median(latencies), 2),
        "p99_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))], 2),
        "max_ms": round(latencies[-1], 2),
        "per_s": round(count / elapsed, 1),
        # CPU of the gunicorn processes only (PostgreSQL, Redis and this client are not counted).
        "server_cpu_ms_per_webhook": round(1000 * server_cpu / count, 2),
        "distinct_messages": distinct,
        "stored": stored,
        "lost": max(0, distinct - stored),
        "duplicated": max(0, stored - distinct),
    }
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key:>18}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
