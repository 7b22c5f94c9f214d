"""The job runners: a warm RQ worker for `chat2order worker`, and the ticker of the embedded default.

Why `WarmWorker` is a `SimpleWorker` (no fork per job): processing needs the parser's spaCy pipelines and
each supplier's catalog index, which take far longer to build than a job takes to run. RQ's default worker
forks a fresh work-horse per job, so whatever a job loads dies with it; a SimpleWorker runs every job in
its own long-lived process, so the runtime (engine pool, `ContextBuilder` cache, spaCy) stays warm. Run
several worker processes for parallelism.

What a SimpleWorker loses is the work-horse monitor that heartbeats while a job runs, so RQ would have to
assume a job lives until its timeout (+60 s) before calling it abandoned. `WarmWorker` heartbeats from a
small thread instead and keeps the heartbeat TTL short, and maintenance runs every few seconds: a worker
killed mid-job has its job requeued by another worker within about `monitor + 10 + maintenance` seconds
(20 s with the defaults, plus the first retry's 5 s backoff) instead of RQ's default minutes. Maintenance also enqueues `relay_outbox` (and
`morning_sheets` once a minute), so pending outbox rows are republished even after Redis lost its queue, and
`reconcile_twilio` every `TWILIO_RECONCILE_SECONDS` (inbound messages Twilio holds that we never stored).
"""

from __future__ import annotations

import ctypes
import functools
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rq.worker import SimpleWorker, WorkerStatus

if TYPE_CHECKING:
    from rq.job import Job
    from rq.queue import Queue

    from chat2order.config import Settings
    from chat2order.jobs import JobQueue
    from chat2order.runtime import Runtime

log = logging.getLogger(__name__)

MONITOR_INTERVAL = 5  # seconds between heartbeats of a running job
# RQ renews the worker's own key (three commands, three round trips) twice per job, around each dequeue; the
# key lives `worker_ttl + 60` s, so one renewal per second is plenty and a busy worker saves ~6 round trips a job.
WORKER_BEAT_EVERY = 1.0
MAINTENANCE_INTERVAL = 5  # seconds between registry clean-ups (abandoned-job recovery) and relay ticks
WORKER_TTL = 20  # the idle worker wakes every WORKER_TTL - 15 seconds to run maintenance
SHEETS_EVERY = 60.0


class WarmWorker(SimpleWorker):
    """An RQ SimpleWorker with a heartbeat thread, short TTLs, a periodic outbox relay and, with `batch` > 1,
    several `process_message` jobs per dequeue (see `Batch`)."""

    def __init__(
        self, *args: Any, relay_queue: JobQueue | None = None, reconcile_every: float = 0.0, batch: int = 1,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("maintenance_interval", MAINTENANCE_INTERVAL)
        kwargs.setdefault("job_monitoring_interval", MONITOR_INTERVAL)
        kwargs.setdefault("worker_ttl", WORKER_TTL)
        self._beat_at = -float("inf")
        super().__init__(*args, **kwargs)
        children_die_with_this_process()
        self.relay_queue = relay_queue
        self.periodic = Periodic(reconcile_every=reconcile_every)
        self.batch = max(1, batch)

    def heartbeat(self, timeout: int | None = None, pipeline: Any | None = None) -> None:
        """RQ's worker heartbeat, at most once per `WORKER_BEAT_EVERY` when called on its own (the loop's
        renewals of the worker key), in one round trip; beats that are part of RQ's own pipelines (job start,
        the running job's monitor) or that set a TTL of their own go through unchanged."""
        if pipeline is not None or timeout is not None:
            super().heartbeat(timeout, pipeline=pipeline)
            return
        started = time.monotonic()
        if started - self._beat_at < WORKER_BEAT_EVERY:
            return
        with self.connection.pipeline(transaction=False) as batch:
            super().heartbeat(None, pipeline=batch)
            batch.execute()
        self._beat_at = started

    def get_heartbeat_ttl(self, job: Job, working_time: float = 0.0) -> int:
        return int(self.job_monitoring_interval) + 10

    def execute_job(self, job: Job, queue: Queue) -> None:
        self._execute_one(job, queue)
        if self.batch > 1 and job.func_name == PROCESS_FUNC and not self._stop_requested:
            Batch(self, queue).run(self.batch - 1)

    def _execute_one(self, job: Job, queue: Queue) -> None:
        execution = self.prepare_execution(job)
        stop = threading.Event()
        beat = threading.Thread(target=self._beat, args=(job, execution, stop), name="rq-heartbeat", daemon=True)
        beat.start()
        try:
            self.perform_job(job, queue, execution)
        finally:
            stop.set()
            beat.join()
        self.set_state(WorkerStatus.IDLE)

    def _beat(self, job: Job, execution: Any, stop: threading.Event) -> None:
        while not stop.wait(self.job_monitoring_interval):
            try:
                self.maintain_heartbeats(job, execution)
            except Exception:  # a missed beat only shortens the lease; never crash the job for it
                log.exception("heartbeat for job %s failed", job.id)

    def run_maintenance_tasks(self) -> None:
        super().run_maintenance_tasks()
        for queue in self.queues:
            try:
                Batch.requeue_expired(self.connection, queue)
            except Exception:
                log.exception("could not requeue the expired batch leases of %s", queue.name)
        if self.relay_queue is None:
            return
        try:
            for job_name in self.periodic.due():
                self.relay_queue.enqueue(job_name)
        except Exception:
            log.exception("could not enqueue the periodic relay")


PROCESS_FUNC = "chat2order.jobs.process_message"
PROCESS_PREFIX = "process_message-"  # `jobs.job_id("process_message", id)`

# Take the longest run of `process_message` job ids (prefix ARGV[2]) among the first ARGV[1] of the queue list
# KEYS[1], and lease them in KEYS[2] until ARGV[3], in one atomic step: an id is always either in the queue or
# under a lease, so a worker killed mid-batch loses nothing.
_TAKE = """
local ids = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
local taken = {}
for _, id in ipairs(ids) do
  if string.sub(id, 1, #ARGV[2]) ~= ARGV[2] then break end
  taken[#taken + 1] = id
end
if #taken > 0 then
  redis.call('LTRIM', KEYS[1], #taken, -1)
  for _, id in ipairs(taken) do redis.call('ZADD', KEYS[2], ARGV[3], id) end
end
return taken
"""

# Put the ids leased in KEYS[2] until ARGV[1] or earlier back at the head of the queue list KEYS[1], in order.
_GIVE_BACK = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
for i = #ids, 1, -1 do redis.call('LPUSH', KEYS[1], ids[i]) end
if #ids > 0 then redis.call('ZREM', KEYS[2], unpack(ids)) end
return #ids
"""


class Batch:
    """More `process_message` jobs after the one RQ dequeued, run here without RQ's per-job bookkeeping.

    Why: RQ spends about 4–6 ms of CPU and a dozen Redis round trips on each job (registries, worker state,
    heartbeats, the result), a third of a message's whole cost. The batch takes the next ids from the head
    of the same queue, as long as they are `process_message` jobs, and leases them in a sorted set (one
    script, atomic). Each message is processed exactly as its job would have been (`jobs.process_message`:
    its own transaction, log line and metrics; processing is idempotent); a message that fails is handed to
    RQ at once as the normal job it still is, so its retries and failure registry are RQ's as before. The
    lease is renewed by a heartbeat thread while the batch runs; if the worker dies, any worker's maintenance
    puts the expired ids back at the head of the queue (seconds, like RQ's own abandoned-job recovery). A
    finished message's job hash is deleted, which RQQueue's unique enqueue reads as "done". What is lost is
    RQ's record of those jobs (started/finished registries), not the work: the message rows say what happened.
    """

    def __init__(self, worker: WarmWorker, queue: Queue) -> None:
        self.worker = worker
        self.queue = queue
        self.connection = worker.connection
        self.lease_key = self.lease_key_of(queue)

    @staticmethod
    def lease_key_of(queue: Queue) -> str:
        return f"chat2order:batch-lease:{queue.name}"

    def lease_until(self) -> float:
        return time.time() + self.worker.job_monitoring_interval + 10

    def take(self, count: int) -> list[str]:
        taken = self.connection.eval(_TAKE, 2, self.queue.key, self.lease_key, count, PROCESS_PREFIX,
                                     self.lease_until())
        return [item.decode() if isinstance(item, bytes) else str(item) for item in taken]

    def run(self, count: int) -> int:
        """Process up to `count` more messages; returns how many were taken."""
        from chat2order import jobs

        taken = self.take(count)
        if not taken:
            return 0
        stop = threading.Event()
        beat = threading.Thread(target=self._renew, args=(taken, stop), name="batch-lease", daemon=True)
        beat.start()
        done: list[str] = []
        try:
            for position, work_id in enumerate(taken):
                if self.worker._stop_requested:
                    self.give_back(taken[position:])
                    break
                try:
                    jobs.process_message(int(work_id.removeprefix(PROCESS_PREFIX)))
                except Exception:
                    log.warning("batched job %s failed; handing it to RQ", work_id, exc_info=True)
                    self._through_rq(work_id)
                else:
                    done.append(work_id)
        finally:
            stop.set()
            beat.join()
            with self.connection.pipeline(transaction=False) as pipe:
                pipe.zrem(self.lease_key, *taken)
                for work_id in done:
                    pipe.delete(self.queue.job_class.key_for(work_id))
                pipe.execute()
        from chat2order.metrics import BATCHED

        BATCHED.inc(len(done))
        return len(taken)

    def give_back(self, work_ids: list[str]) -> None:
        """Return ids not yet started to the head of the queue, in their order (a warm shutdown)."""
        with self.connection.pipeline() as pipe:
            pipe.lpush(self.queue.key, *reversed(work_ids))
            pipe.zrem(self.lease_key, *work_ids)
            pipe.execute()

    def _through_rq(self, work_id: str) -> None:
        job = self.queue.fetch_job(work_id)
        self.connection.zrem(self.lease_key, work_id)
        if job is None:  # its hash is gone (deleted by hand): enqueue the work afresh, with RQ's retries
            if self.worker.relay_queue is not None:
                self.worker.relay_queue.enqueue("process_message", int(work_id.removeprefix(PROCESS_PREFIX)))
            else:
                log.error("batched job %s failed and has no RQ job to retry it", work_id)
            return
        self.worker._execute_one(job, self.queue)

    def _renew(self, taken: list[str], stop: threading.Event) -> None:
        while not stop.wait(self.worker.job_monitoring_interval):
            try:  # XX: only ids still leased; finished ones were removed
                self.connection.zadd(self.lease_key, dict.fromkeys(taken, self.lease_until()), xx=True)
            except Exception:  # a missed renewal only shortens the lease
                log.exception("batch lease renewal failed")

    @classmethod
    def requeue_expired(cls, connection: Any, queue: Queue, now: float | None = None) -> int:
        """Put back what a dead worker had leased; run by every worker's maintenance."""
        count = int(connection.eval(_GIVE_BACK, 2, queue.key, cls.lease_key_of(queue),
                                    time.time() if now is None else now))
        if count:
            log.warning("requeued %d batched jobs of %s whose worker stopped renewing them", count, queue.name)
        return count


PR_SET_PDEATHSIG = 1  # linux/prctl.h


@functools.cache
def children_die_with_this_process() -> None:
    """Make every process forked from here get SIGTERM when this one dies, however it dies (Linux).

    RQ forks its scheduler as a child of the worker. A worker killed with SIGKILL (or by the OOM killer)
    never stops it: the orphan keeps the scheduler lock and runs the old code after a deploy, forever. With
    the parent-death signal it stops as on a normal shutdown (RQ's SIGTERM handler releases its locks).
    """
    if not sys.platform.startswith("linux"):
        return
    parent = os.getpid()

    def in_child() -> None:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died between the fork and the prctl
            os.kill(os.getpid(), signal.SIGTERM)

    os.register_at_fork(after_in_child=in_child)


class Periodic:
    """Which periodic jobs are due at a tick: `relay_outbox` every tick, `morning_sheets` every
    `sheets_every` seconds, `reconcile_twilio` every `reconcile_every` seconds (0 = never); each of the
    latter also at the first tick, so a restarted process catches up at once."""

    def __init__(
        self, *, sheets_every: float = SHEETS_EVERY, reconcile_every: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.every = {"morning_sheets": sheets_every, "reconcile_twilio": reconcile_every}
        self.clock = clock
        self._last: dict[str, float] = {}

    def due(self) -> list[str]:
        now = self.clock()
        names = ["relay_outbox"]
        for name, every in self.every.items():
            if every and (name not in self._last or now - self._last[name] >= every):
                self._last[name] = now
                names.append(name)
        return names


class Ticker:
    """The embedded default's clock: enqueues the `Periodic` jobs (relay every few seconds, morning sheets
    every minute, Twilio reconciliation) into the in-process queue, from a daemon thread of `chat2order serve`."""

    def __init__(
        self, runtime: Runtime, *, relay_every: float = 5.0, sheets_every: float = SHEETS_EVERY,
        reconcile_every: float | None = None,
    ) -> None:
        self.runtime = runtime
        self.relay_every = relay_every
        self.periodic = Periodic(
            sheets_every=sheets_every,
            reconcile_every=reconcile_interval(runtime.settings) if reconcile_every is None else reconcile_every,
        )
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="chat2order-ticker", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.relay_every):
            try:
                for job_name in self.periodic.due():
                    self.runtime.queue.enqueue(job_name)
            except Exception:
                log.exception("ticker could not enqueue")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


def reconcile_interval(settings: Settings) -> float:
    """Seconds between Twilio reconciliations; 0 (off) without Twilio REST credentials to read the log with."""
    return float(settings.twilio_reconcile_seconds) if settings.twilio_rest_configured else 0.0


# What jobs import on first use, loaded before the first job instead (fpdf alone is ~1 s of CPU; under load it
# was 15% of a worker's first 25 s): processing, dispatch, order sheets (CSV, PDF, morning), the senders.
WARM_MODULES = (
    "chat2order.ordering.processing",
    "chat2order.ordering.dispatch",
    "chat2order.ordering.morning",
    "chat2order.ordering.sheet_pdf",
    "chat2order.notify.twilio_sender",
    "chat2order.notify.smtp_sender",
    "chat2order.notify.file_sender",
    "twilio.rest.api.v2010.account.message",
)


def warm_up(runtime: Runtime) -> None:
    """Load what jobs need once per process, before the first job: every supplier's catalog index, the
    modules jobs import lazily, and, for every locale of a supplier or restaurant, the parser's per-language
    data (pint registry, spaCy, lemma tables, patterns) and its money and date formats (Babel)."""
    import datetime as dt
    import importlib
    from decimal import Decimal

    from sqlalchemy import select

    from chat2order import i18n
    from chat2order.parsing import ParseContext, parse, units
    from chat2order.tables import Restaurant, Supplier

    started = time.monotonic()
    try:
        contexts = runtime.contexts
        with runtime.sessionmaker() as session:
            suppliers = session.execute(select(Supplier.id, Supplier.locale, Supplier.currency)).all()
            indexes = [contexts.index_for(session, row.id) for row in suppliers]
            locales = {row.locale for row in suppliers} | set(session.scalars(select(Restaurant.locale).distinct()))
        ids = [row.id for row in suppliers]
        for name in WARM_MODULES:
            importlib.import_module(name)
        # pint's registry is built at the first word the unit table does not know (a typo, say): build it now.
        units.registry()
        now = dt.datetime.now(dt.UTC)
        currencies = {row.currency for row in suppliers} or {"USD"}
        for locale in sorted(filter(None, locales)):
            if indexes:  # the index only lends the parse a catalog; the per-language data is what warms
                parse("2 kg 1 cs", ParseContext(index=indexes[0], history=(), locale=locale, received_at=now,
                                                channel="sms"))
            for currency in currencies:
                i18n.money(Decimal("1.5"), currency, locale)
            i18n.day(now.date(), locale)
    except Exception:  # a cold start is slower, not broken: jobs build what they need on first use
        log.exception("warm-up incomplete")
        return
    # The indexes live as long as the process: move them out of the garbage collector's generations so a
    # full collection does not walk them (seen as ~400 ms pauses on a 100k-SKU catalog).
    import gc

    gc.collect()
    gc.freeze()
    log.info("warm: %d catalog indexes in %.2fs", len(ids), time.monotonic() - started)
