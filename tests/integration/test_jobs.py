"""Job queues: RQ against the real Redis (run by the warm worker), and the embedded in-process queue."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from chat2order import jobs
from chat2order.config import Settings
from chat2order.errors import InvalidInput
from chat2order.jobs import InProcessQueue, RQQueue
from chat2order.runtime import Runtime
from chat2order.worker import WarmWorker


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, int]]]:
    """Stand in for the processing service: record which message each run was for, under the runtime
    installed for job functions."""
    seen: list[tuple[str, int]] = []
    rt = Runtime(Settings())
    jobs.set_runtime(rt)

    def fake_process(runtime: Runtime, message_id: int) -> None:
        assert runtime is rt
        seen.append(("process_message", message_id))

    monkeypatch.setattr(jobs, "_run_process_message", fake_process)
    yield seen
    jobs.set_runtime(None)


def _burst(queue: RQQueue) -> None:
    WarmWorker(queue.queues, connection=queue.connection).work(burst=True, logging_level="WARNING")


@pytest.mark.redis
def test_rq_job_enqueued_is_run_by_the_warm_worker(redis_url: str, calls: list) -> None:
    queue = RQQueue(redis_url, "c2o-test")

    queue.enqueue("process_message", 41)
    _burst(queue)

    assert calls == [("process_message", 41)]


@pytest.mark.redis
def test_rq_duplicate_enqueue_of_waiting_work_runs_once(redis_url: str, calls: list) -> None:
    queue = RQQueue(redis_url, "c2o-test")

    queue.enqueue("process_message", 7)
    queue.enqueue("process_message", 7)
    queue.enqueue("process_message", 8)

    assert queue.pending() == 2
    _burst(queue)
    assert sorted(calls) == [("process_message", 7), ("process_message", 8)]


@pytest.mark.redis
def test_rq_finished_work_can_be_enqueued_again(redis_url: str, calls: list) -> None:
    queue = RQQueue(redis_url, "c2o-test")

    queue.enqueue("process_message", 3)
    _burst(queue)
    queue.enqueue("process_message", 3)
    _burst(queue)

    assert calls == [("process_message", 3), ("process_message", 3)]


@pytest.mark.redis
def test_rq_failed_job_is_retried(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    attempts: list[int] = []

    def flaky(runtime: Runtime, message_id: int) -> None:
        attempts.append(message_id)
        if len(attempts) < 3:
            raise RuntimeError("database restarting")

    monkeypatch.setattr(jobs, "_run_process_message", flaky)
    jobs.set_runtime(Runtime(Settings()))
    try:
        queue = RQQueue(redis_url, "c2o-test", retry_intervals=(0, 0, 0))
        queue.enqueue("process_message", 5)
        _burst(queue)
    finally:
        jobs.set_runtime(None)

    assert attempts == [5, 5, 5]


@pytest.mark.redis
def test_rq_job_ids_name_the_work(redis_url: str) -> None:
    queue = RQQueue(redis_url, "c2o-test")

    queue.enqueue("deliver", 12)
    queue.enqueue("relay_outbox")

    assert sorted(queue.dispatch_queue.job_ids) == ["deliver-12", "relay_outbox"]


@pytest.mark.redis
def test_rq_sends_run_before_the_parsing_backlog(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    order: list[str] = []
    monkeypatch.setattr(jobs, "_run_process_message", lambda rt, i: order.append(f"process-{i}"))
    monkeypatch.setattr(jobs, "_run_deliver", lambda rt, i: order.append(f"deliver-{i}"))
    queue = RQQueue(redis_url, "c2o-test")
    jobs.set_runtime(Runtime(Settings(redis_url=redis_url), queue=queue))
    try:
        for i in (1, 2, 3):
            queue.enqueue("process_message", i)
        queue.enqueue("deliver", 9)
        _burst(queue)
    finally:
        jobs.set_runtime(None)
    assert order == ["deliver-9", "process-1", "process-2", "process-3"]


def test_job_payload_must_be_positive_integer_ids() -> None:
    queue = InProcessQueue(Runtime(Settings()))

    for bad in (("process_message", "12"), ("process_message", 0), ("process_message", True), ("nope", 1)):
        with pytest.raises(InvalidInput):
            queue.enqueue(*bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        queue.enqueue("deliver")


def _in_process(runner, **kw) -> InProcessQueue:  # type: ignore[no-untyped-def]
    return InProcessQueue(Runtime(Settings()), runners={"process_message": runner, "deliver": runner}, **kw)


def test_in_process_queue_runs_jobs_in_enqueue_order() -> None:
    seen: list[int] = []
    queue = _in_process(lambda rt, i: seen.append(i))

    for i in (5, 3, 9, 1):
        queue.enqueue("process_message", i)

    assert queue.join(timeout=5)
    assert seen == [5, 3, 9, 1]
    queue.close()


def test_in_process_queue_retries_a_failed_job_with_backoff() -> None:
    attempts: list[int] = []

    def flaky(rt: Runtime, i: int) -> None:
        attempts.append(i)
        if len(attempts) < 3:
            raise RuntimeError("transient")

    queue = _in_process(flaky, retry_intervals=(0.01, 0.02, 0.04))
    queue.enqueue("process_message", 2)

    assert queue.join(timeout=5)
    assert attempts == [2, 2, 2]
    assert queue.failures == []
    queue.close()


def test_in_process_queue_gives_up_after_its_retries_and_keeps_running() -> None:
    seen: list[int] = []

    def broken_for_one(rt: Runtime, i: int) -> None:
        seen.append(i)
        if i == 1:
            raise RuntimeError("always")

    queue = _in_process(broken_for_one, retry_intervals=(0.01,))
    queue.enqueue("process_message", 1)
    queue.enqueue("process_message", 2)

    assert queue.join(timeout=5)
    assert seen.count(1) == 2 and 2 in seen
    assert [work for work, _ in queue.failures] == ["process_message-1"]
    queue.close()


def test_in_process_queue_does_not_queue_waiting_work_twice() -> None:
    gate = threading.Event()
    seen: list[int] = []

    def slow(rt: Runtime, i: int) -> None:
        if i == 1:
            gate.wait(5)
        seen.append(i)

    queue = _in_process(slow)
    queue.enqueue("process_message", 1)  # occupies the thread
    queue.enqueue("process_message", 2)
    queue.enqueue("process_message", 2)
    gate.set()

    assert queue.join(timeout=5)
    assert seen == [1, 2]
    queue.close()


def test_in_process_queue_close_runs_what_is_due_then_stops() -> None:
    seen: list[int] = []
    queue = _in_process(lambda rt, i: seen.append(i))
    for i in range(1, 6):
        queue.enqueue("process_message", i)

    queue.close(timeout=5)

    assert seen == [1, 2, 3, 4, 5]
    queue.enqueue("process_message", 6)  # refused after close, logged
    assert queue.pending() == 0


def test_queue_from_settings_picks_rq_only_with_redis_url(redis_url: str) -> None:
    assert isinstance(Runtime(Settings()).queue, InProcessQueue)
    assert isinstance(Runtime(Settings(redis_url=redis_url)).queue, RQQueue)


@pytest.mark.redis
def test_job_of_a_killed_worker_is_requeued_within_seconds(redis_url: str, calls: list) -> None:
    import time

    from rq.job import JobStatus

    queue = RQQueue(redis_url, "c2o-test", retry_intervals=(0,))  # production waits 5 s before the retry
    queue.enqueue("process_message", 9)
    dead = WarmWorker(queue.queues, connection=queue.connection)
    job, _ = queue.queue.dequeue_any([queue.queue], None, connection=queue.connection)
    dead.prepare_execution(job)
    dead.prepare_job_execution(job, True)  # the job is now "started" ... and its worker is SIGKILLed here
    lease = dead.get_heartbeat_ttl(job)

    registry = queue.queue.started_job_registry
    registry.cleanup(timestamp=time.time() + lease + 1)  # what the next worker's maintenance does then

    assert lease <= 20
    assert job.get_status(refresh=True) == JobStatus.QUEUED
    _burst(queue)
    assert calls == [("process_message", 9)]


@pytest.mark.redis
def test_warm_worker_heartbeats_while_a_long_job_runs(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    beats: list[str] = []
    monkeypatch.setattr(WarmWorker, "maintain_heartbeats", lambda self, job, execution: beats.append(job.id))
    monkeypatch.setattr(jobs, "_run_process_message", lambda rt, i: time.sleep(0.5))
    jobs.set_runtime(Runtime(Settings()))
    try:
        queue = RQQueue(redis_url, "c2o-test")
        queue.enqueue("process_message", 4)
        WarmWorker(queue.queues, connection=queue.connection, job_monitoring_interval=0.1).work(
            burst=True, logging_level="WARNING"
        )
    finally:
        jobs.set_runtime(None)

    assert beats and set(beats) == {"process_message-4"}


@pytest.mark.redis
def test_busy_warm_worker_renews_its_own_key_at_most_once_a_second(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rq.worker import SimpleWorker

    from chat2order import worker as worker_module

    queue = RQQueue(redis_url, "c2o-test")
    rq_worker = WarmWorker(queue.queues, connection=queue.connection)
    clock = [1000.0]
    monkeypatch.setattr(worker_module.time, "monotonic", lambda: clock[0])
    renewals: list[str] = []

    def renew(self: WarmWorker, timeout: int | None = None, pipeline: object | None = None) -> None:
        renewals.append("own TTL" if timeout is not None else "in a pipeline" if pipeline is not None else "alone")

    monkeypatch.setattr(SimpleWorker, "heartbeat", renew)

    rq_worker.heartbeat()  # before a dequeue
    rq_worker.heartbeat()  # after it, and before the next: skipped, the key has ~80 s left
    clock[0] += worker_module.WORKER_BEAT_EVERY
    rq_worker.heartbeat()
    rq_worker.heartbeat(30)  # a TTL of its own (RQ's job start, the job monitor) always goes through

    assert renewals == ["in a pipeline", "in a pipeline", "own TTL"]


@pytest.mark.redis
def test_worker_maintenance_enqueues_the_outbox_relay(redis_url: str) -> None:
    queue = RQQueue(redis_url, "c2o-test")
    worker = WarmWorker(queue.queues, connection=queue.connection, relay_queue=queue)

    worker.run_maintenance_tasks()

    assert set(queue.dispatch_queue.job_ids) == {"relay_outbox"}
    assert set(queue.queue.job_ids) == {"morning_sheets"}


def test_worker_command_without_redis_explains_the_embedded_default_and_exits_0() -> None:
    from click.testing import CliRunner

    from chat2order.cli import main

    result = CliRunner(env={"REDIS_URL": ""}).invoke(main, ["worker"])

    assert result.exit_code == 0
    assert "chat2order serve" in result.output


def test_relay_republishes_inbound_messages_whose_job_was_lost(committed_pg, pg_engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import datetime as dt

    from tests import factories
    from tests.helpers.dispatch_runtime import make_runtime

    now = dt.datetime.now(dt.UTC)
    stale = factories.InboundMessageFactory(status="received", received_at=now - dt.timedelta(minutes=2))
    fresh = factories.InboundMessageFactory(status="received", received_at=now)
    done = factories.InboundMessageFactory(status="awaiting_chef", received_at=now - dt.timedelta(minutes=2))
    rt, queue = make_runtime(pg_engine, committed_pg, tmp_path)

    jobs._run_relay_outbox(rt)

    assert queue.ids("process_message") == [stale.id]
    assert fresh.id not in queue.ids("process_message") and done.id not in queue.ids("process_message")
