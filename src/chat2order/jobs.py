"""Background jobs: module-level functions that take ids, and the queues that run them after commit.

Job functions (`process_message`, `deliver`, `relay_outbox`, `morning_sheets`, `reconcile_twilio`) use the process-wide
runtime (`set_runtime` / `get_runtime`) and import their service lazily, so importing this module is
cheap and the RQ worker resolves them by dotted name. Every job is idempotent: the services check the
rows' state, so running one twice does no harm; the queues still avoid running the same work twice at
once by deriving the job id from the work (`process_message-12`; RQ allows only letters, digits, `_` and `-`).

Two queues share the `JobQueue` protocol:
- `RQQueue` (REDIS_URL set): RQ with `Retry` and exponential-ish backoff, unique job ids.
- `InProcessQueue` (embedded default): one background thread of this process, retries with backoff,
  drained on shutdown.
Callers enqueue only after their transaction committed (anything else is named `..._unsafe`).
"""

from __future__ import annotations

import datetime as dt
import functools
import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from chat2order.errors import InvalidInput

if TYPE_CHECKING:
    from chat2order.config import Settings
    from chat2order.runtime import Runtime

log = logging.getLogger(__name__)

# ---------------------------------------------------------------------------------------------------------
# The process-wide runtime used by job functions.

_runtime: Runtime | None = None
_runtime_lock = threading.Lock()


def set_runtime(rt: Runtime | None) -> None:
    """Install the runtime job functions use (the worker and `serve` do it once at start-up)."""
    global _runtime
    _runtime = rt


def get_runtime() -> Runtime:
    """The installed runtime; built from the environment on first use if nobody installed one."""
    global _runtime
    if _runtime is None:
        with _runtime_lock:
            if _runtime is None:
                from chat2order.config import Settings
                from chat2order.runtime import Runtime

                _runtime = Runtime.from_settings(Settings.from_env())
    return _runtime


# ---------------------------------------------------------------------------------------------------------
# What each job does, given a runtime. The public job functions below bind the process-wide runtime.


def _run_process_message(rt: Runtime, message_id: int) -> None:
    from chat2order.ordering import processing

    processing.process_message(rt, message_id, send_replies=True)


def _run_deliver(rt: Runtime, outbox_id: int) -> None:
    from chat2order.ordering import dispatch

    dispatch.deliver(rt, outbox_id)


# An inbound message still `received` this long after arrival lost its job (Redis restarted, enqueue failed).
STALE_INBOUND = dt.timedelta(seconds=30)


def _run_relay_outbox(rt: Runtime) -> int:
    """Republish what a lost queue would have dropped: pending outbox rows and unprocessed inbound messages.

    Re-enqueueing is safe: job ids are unique per piece of work and both jobs are idempotent.
    """
    from chat2order.ordering import dispatch
    from chat2order.ordering.intake import requeue_received

    return int(dispatch.relay_pending(rt)) + requeue_received(rt, older_than=STALE_INBOUND)


def _run_morning_sheets(rt: Runtime) -> int:
    from chat2order.ordering import dispatch

    return int(dispatch.morning_sheets(rt))


def _run_reconcile_twilio(rt: Runtime) -> int:
    """Store inbound messages Twilio holds that we never stored (webhook refused while the database was down)."""
    from chat2order.channels.twilio_history import TwilioHistory
    from chat2order.ordering import reconcile

    if not rt.settings.twilio_rest_configured:
        return 0
    source = TwilioHistory.from_settings(rt.settings)
    try:
        result = reconcile.reconcile(rt, source)
    finally:
        source.close()
    # A failed read was logged and left the watermark where it was: the next periodic run reads it again.
    return result.stored


# name -> (implementation, number of integer ids it takes)
JOBS: dict[str, tuple[Callable[..., Any], int]] = {
    "process_message": (_run_process_message, 1),
    "deliver": (_run_deliver, 1),
    "relay_outbox": (_run_relay_outbox, 0),
    "morning_sheets": (_run_morning_sheets, 0),
    "reconcile_twilio": (_run_reconcile_twilio, 0),
}


# The log field that names each job's id, so one message (or outbox row) can be followed through the logs.
_ID_FIELD = {"process_message": "message_id", "deliver": "outbox_id"}


def observed(job_name: str, impl: Callable[..., Any]) -> Callable[..., Any]:
    """`impl` run inside `log_context(job=..., message_id=... | outbox_id=...)` and timed into JOB_SECONDS.

    Both queues run jobs through this, so the worker's and the embedded process's logs look the same.
    """

    @functools.wraps(impl)
    def run(rt: Runtime, *ids: int) -> Any:
        from chat2order.metrics import JOB_SECONDS
        from chat2order.observability import log_context

        fields: dict[str, Any] = {"job": job_name}
        if ids and job_name in _ID_FIELD:
            fields[_ID_FIELD[job_name]] = ids[0]
        if job_name == "deliver" and ids:
            fields.update(_outbox_origin(rt, ids[0]))
        started, cpu_started = time.perf_counter(), time.thread_time()
        # Per-message jobs say when they end; the periodic ones (every few seconds) only at debug level.
        level = logging.INFO if job_name in _ID_FIELD else logging.DEBUG
        with log_context(**fields):
            try:
                result = impl(rt, *ids)
            except Exception as exc:
                # One line inside the context (so it carries the message id); the queue logs the traceback.
                log.warning("job %s failed: %r", job_id(job_name, *ids), exc)
                raise
            finally:
                elapsed = time.perf_counter() - started
                JOB_SECONDS.labels(job_name).observe(elapsed)
            # This thread's CPU next to the wall time: tells a job that works from one that waits (database,
            # provider, a busy machine).
            cpu = time.thread_time() - cpu_started
            log.log(level, "job %s done in %.3fs (%.3fs CPU)", job_id(job_name, *ids), elapsed, cpu)
            return result

    return run


def _outbox_origin(rt: Runtime, outbox_id: int) -> dict[str, Any]:
    """The order and inbound message an outbox row belongs to, so a send's log lines carry the message id
    it all started from (one primary-key read; never fails the job)."""
    try:
        from sqlalchemy import select

        from chat2order.tables import Order, OutboundMessage

        with rt.sessionmaker() as session:
            row = session.execute(
                select(OutboundMessage.order_id, OutboundMessage.inbound_message_id, Order.source_message_id)
                .outerjoin(Order, Order.id == OutboundMessage.order_id)
                .where(OutboundMessage.id == outbox_id)
            ).first()
    except Exception:  # log context is a nicety; the job itself reports real failures
        log.debug("no log context for outbox row %s", outbox_id, exc_info=True)
        return {}
    if row is None:
        return {}
    order_id, inbound_id, source_id = row
    return {"order_id": order_id, "message_id": inbound_id or source_id}


def process_message(message_id: int) -> None:
    """Parse one stored inbound message into a draft order (or apply it as a reply)."""
    observed("process_message", _run_process_message)(
        get_runtime(), _validated("process_message", (message_id,))[0]
    )


def deliver(outbox_id: int) -> None:
    """Send one outbox row through notify (idempotent: the outbox id is the idempotency key)."""
    observed("deliver", _run_deliver)(get_runtime(), _validated("deliver", (outbox_id,))[0])


def relay_outbox() -> int:
    """Re-enqueue outbox rows still pending (after a crash, a Redis restart, or a due retry)."""
    return int(observed("relay_outbox", _run_relay_outbox)(get_runtime()))


def morning_sheets() -> int:
    """Send the suppliers' morning order sheets that are due."""
    return int(observed("morning_sheets", _run_morning_sheets)(get_runtime()))


def reconcile_twilio() -> int:
    """Fetch inbound messages Twilio has and we missed, through the webhook's intake path."""
    return int(observed("reconcile_twilio", _run_reconcile_twilio)(get_runtime()))


def _validated(job_name: str, ids: Sequence[Any]) -> tuple[int, ...]:
    """Job payloads are plain positive integers; anything else is a programming error caught early."""
    if job_name not in JOBS:
        raise InvalidInput(f"unknown job {job_name!r}")
    arity = JOBS[job_name][1]
    if len(ids) != arity:
        raise InvalidInput(f"job {job_name} takes {arity} id(s), got {len(ids)}")
    for value in ids:
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise InvalidInput(f"job {job_name}: ids must be positive integers, got {value!r}")
    return tuple(ids)


def job_id(job_name: str, *ids: int) -> str:
    """The id of a piece of work: the same work enqueued twice has the same id."""
    return "-".join([job_name, *(str(i) for i in ids)])


# ---------------------------------------------------------------------------------------------------------
# Queues.


class JobQueue(Protocol):
    def enqueue(self, job_name: str, *ids: int) -> None: ...


# Backoff between attempts: a transient fault (database restart, provider hiccup) usually clears in seconds;
# five attempts span about 17 minutes before the job is parked in RQ's failed registry for a person.
RQ_RETRY_INTERVALS = (5, 30, 120, 300, 600)


class RecordingQueue:
    """A `JobQueue` that runs nothing and remembers what it was asked: `predict` processes inline and never
    delivers, and tests assert on what a service enqueued after its commit."""

    def __init__(self) -> None:
        self.enqueued: list[tuple[str, tuple[int, ...]]] = []

    def enqueue(self, job_name: str, *ids: int) -> None:
        self.enqueued.append((job_name, ids))

    def ids(self, job_name: str = "deliver") -> list[int]:
        return [ids[0] for name, ids in self.enqueued if name == job_name and ids]


# Jobs that send or republish what is ready to send: they run before any parsing backlog.
DISPATCH_JOBS = frozenset({"deliver", "relay_outbox"})


class RQQueue:
    """Jobs in Redis for `chat2order worker` processes (RQ), with retries and one live job per work id."""

    def __init__(
        self,
        redis_url: str,
        name: str = "chat2order",
        *,
        connection: Any | None = None,
        retry_intervals: Sequence[int] = RQ_RETRY_INTERVALS,
        job_timeout: int = 120,
    ) -> None:
        from redis import Redis
        from rq import Queue

        self.connection = connection if connection is not None else Redis.from_url(redis_url)
        self.queue = Queue(name, connection=self.connection)
        # Sends get their own queue, listened to first: a confirmation must not wait behind a backlog of
        # messages still to be parsed (measured: 100 s of queueing at 187 webhooks/s without it).
        self.dispatch_queue = Queue(f"{name}-dispatch", connection=self.connection)
        self.retry_intervals = list(retry_intervals)
        self.job_timeout = job_timeout

    def enqueue(self, job_name: str, *ids: int) -> None:
        """Enqueue unless the same work is already waiting, scheduled for a retry or running.

        RQ's `unique=True` refuses an id whose job hash still exists; a finished or failed job keeps its
        hash for a while, so such a leftover is deleted and the enqueue tried once more (still unique, so
        two racing enqueuers cannot both win).
        """
        from rq.exceptions import DuplicateJobError

        ids = _validated(job_name, ids)
        work_id = job_id(job_name, *ids)
        for _ in range(2):
            try:
                self._enqueue_unique(job_name, ids, work_id)
                return
            except DuplicateJobError:
                if not self._drop_if_done(work_id):
                    log.debug("job %s already pending; not enqueued again", work_id)
                    return
        log.debug("job %s enqueued concurrently by someone else", work_id)

    @property
    def queues(self) -> list[Any]:
        """The RQ queues a worker listens to, most urgent first."""
        return [self.dispatch_queue, self.queue]

    def queue_for(self, job_name: str) -> Any:
        return self.dispatch_queue if job_name in DISPATCH_JOBS else self.queue

    def _enqueue_unique(self, job_name: str, ids: tuple[int, ...], work_id: str) -> None:
        from rq import Retry

        self.queue_for(job_name).enqueue(
            f"chat2order.jobs.{job_name}",
            *ids,
            job_id=work_id,
            unique=True,
            retry=Retry(max=len(self.retry_intervals), interval=self.retry_intervals),
            job_timeout=self.job_timeout,
            result_ttl=60,
            failure_ttl=7 * 24 * 3600,
        )

    def _drop_if_done(self, work_id: str) -> bool:
        from rq.exceptions import NoSuchJobError
        from rq.job import Job, JobStatus

        try:
            existing = Job.fetch(work_id, connection=self.connection)
        except NoSuchJobError:
            return True
        status = existing.get_status(refresh=False)
        if status in (JobStatus.FINISHED, JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED, None):
            existing.delete()
            return True
        return False

    def pending(self) -> int:
        return sum(queue.count for queue in self.queues)


class InProcessQueue:
    """Runs jobs in one background thread of this process (the embedded default, no Redis).

    Jobs run one at a time in enqueue order; a failed job is retried after `retry_intervals` seconds, then
    logged and dropped (its rows keep a status a person can see; a restart's recovery sweep requeues it).
    The same work already waiting is not queued twice. `close()` drains what is due, then stops.
    """

    def __init__(
        self,
        runtime: Runtime,
        *,
        retry_intervals: Sequence[float] = (1.0, 5.0, 30.0),
        runners: dict[str, Callable[..., Any]] | None = None,
    ) -> None:
        self.runtime = runtime
        self.retry_intervals = tuple(retry_intervals)
        self._runners = runners or {name: observed(name, impl) for name, (impl, _) in JOBS.items()}
        self._cond = threading.Condition()
        self._ready: list[tuple[float, int, str, tuple[int, ...], int]] = []  # heap: (due, seq, name, ids, attempt)
        self._waiting: set[str] = set()
        self._running = 0
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None
        self._closing = False
        self.failures: list[tuple[str, str]] = []  # (work id, error) of jobs that gave up, for status pages

    def enqueue(self, job_name: str, *ids: int) -> None:
        ids = _validated(job_name, ids)
        work_id = job_id(job_name, *ids)
        with self._cond:
            if self._closing:
                log.warning("queue closing; %s not enqueued (recovered on next start)", work_id)
                return
            if work_id in self._waiting:
                return
            self._waiting.add(work_id)
            heapq.heappush(self._ready, (time.monotonic(), next(self._seq), job_name, ids, 0))
            self._ensure_thread()
            self._cond.notify_all()

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._loop, name="chat2order-jobs", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while True:
                    if not self._ready:
                        if self._closing:
                            return
                        self._cond.wait()
                        continue
                    due = self._ready[0][0]
                    delay = due - time.monotonic()
                    if delay <= 0:
                        break
                    if self._closing:
                        dropped = [job_id(n, *i) for _, _, n, i, _ in self._ready]
                        log.warning("queue closing; dropping delayed retries %s", dropped)
                        self._ready.clear()
                        self._waiting.clear()
                        self._cond.notify_all()
                        return
                    self._cond.wait(timeout=delay)
                _, _, name, ids, attempt = heapq.heappop(self._ready)
                work_id = job_id(name, *ids)
                self._waiting.discard(work_id)
                self._running += 1
            try:
                self._runners[name](self.runtime, *ids)
            except Exception as exc:  # noqa: BLE001 - a job failure must never kill the worker thread
                self._after_failure(name, ids, attempt, exc)
            finally:
                with self._cond:
                    self._running -= 1
                    self._cond.notify_all()

    def _after_failure(self, name: str, ids: tuple[int, ...], attempt: int, exc: Exception) -> None:
        work_id = job_id(name, *ids)
        if attempt < len(self.retry_intervals):
            delay = self.retry_intervals[attempt]
            log.warning("job %s failed (attempt %d), retrying in %.1fs: %r", work_id, attempt + 1, delay, exc)
            with self._cond:
                if work_id not in self._waiting:
                    self._waiting.add(work_id)
                    heapq.heappush(
                        self._ready, (time.monotonic() + delay, next(self._seq), name, ids, attempt + 1)
                    )
            return
        log.error("job %s failed %d times, giving up: %r", work_id, attempt + 1, exc, exc_info=exc)
        with self._cond:
            self.failures.append((work_id, repr(exc)))

    def join(self, timeout: float = 10.0) -> bool:
        """Wait until nothing is waiting or running (retries included); True if idle in time."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._ready or self._running:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(timeout=left)
        return True

    def close(self, timeout: float = 30.0) -> None:
        """Stop accepting work, run what is due, drop delayed retries, and stop the thread."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    def pending(self) -> int:
        with self._cond:
            return len(self._ready) + self._running


def queue_from_settings(settings: Settings, runtime: Runtime) -> JobQueue:
    """RQ when REDIS_URL is set, otherwise the in-process queue of the embedded default."""
    if settings.redis_url:
        return RQQueue(settings.redis_url)
    return InProcessQueue(runtime)
