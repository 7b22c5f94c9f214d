"""The warm worker's batches: several `process_message` jobs per dequeue, against the real Redis."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from rq.job import Job, JobStatus

from chat2order import jobs
from chat2order.config import Settings
from chat2order.jobs import RQQueue, job_id
from chat2order.runtime import Runtime
from chat2order.worker import Batch, WarmWorker

pytestmark = pytest.mark.redis


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, int]]]:
    """Stand-ins for the job bodies, recording each run; `on_message` lets a test act inside one."""
    seen: list[tuple[str, int]] = []
    jobs.set_runtime(Runtime(Settings()))

    def fake_process(runtime: Runtime, message_id: int) -> None:
        seen.append(("process_message", message_id))
        hook = ON_MESSAGE.get(message_id)
        if hook is not None:
            hook()

    monkeypatch.setattr(jobs, "_run_process_message", fake_process)
    monkeypatch.setattr(jobs, "_run_morning_sheets", lambda runtime: seen.append(("morning_sheets", 0)) or 0)
    yield seen
    ON_MESSAGE.clear()
    jobs.set_runtime(None)


ON_MESSAGE: dict[int, Callable[[], None]] = {}


def _worker(queue: RQQueue, batch: int, **kwargs: object) -> WarmWorker:
    return WarmWorker(queue.queues, connection=queue.connection, batch=batch, **kwargs)


def _hash_exists(queue: RQQueue, work_id: str) -> bool:
    return bool(queue.connection.exists(Job.key_for(work_id)))


def test_a_worker_runs_the_following_message_jobs_in_one_batch_outside_rq(redis_url: str, calls: list) -> None:
    queue = RQQueue(redis_url, "c2o-test")
    for message_id in range(1, 6):
        queue.enqueue("process_message", message_id)

    _worker(queue, batch=3).work(burst=True, logging_level="WARNING")

    assert calls == [("process_message", i) for i in range(1, 6)]
    # 1 and 4 went through RQ; 2, 3 and 5 rode along, and their finished jobs' hashes are gone.
    assert sorted(queue.queue.finished_job_registry.get_job_ids()) == ["process_message-1", "process_message-4"]
    assert [_hash_exists(queue, job_id("process_message", i)) for i in (2, 3, 5)] == [False, False, False]
    assert queue.connection.zcard(Batch.lease_key_of(queue.queue)) == 0
    assert queue.pending() == 0


def test_finished_batched_work_can_be_enqueued_again(redis_url: str, calls: list) -> None:
    queue = RQQueue(redis_url, "c2o-test")
    queue.enqueue("process_message", 1)
    queue.enqueue("process_message", 2)
    _worker(queue, batch=2).work(burst=True, logging_level="WARNING")

    queue.enqueue("process_message", 2)  # e.g. the relay after a lost job: RQQueue's unique enqueue accepts it
    _worker(queue, batch=2).work(burst=True, logging_level="WARNING")

    assert calls == [("process_message", 1), ("process_message", 2), ("process_message", 2)]


def test_a_batch_stops_at_the_first_job_that_is_not_a_message(redis_url: str, calls: list) -> None:
    queue = RQQueue(redis_url, "c2o-test")
    queue.enqueue("process_message", 1)
    queue.enqueue("process_message", 2)
    queue.enqueue("morning_sheets")
    queue.enqueue("process_message", 3)

    _worker(queue, batch=8).work(burst=True, logging_level="WARNING")

    assert calls == [("process_message", 1), ("process_message", 2), ("morning_sheets", 0), ("process_message", 3)]


def test_batch_of_one_is_rq_alone(redis_url: str, calls: list) -> None:
    queue = RQQueue(redis_url, "c2o-test")
    queue.enqueue("process_message", 1)
    queue.enqueue("process_message", 2)

    _worker(queue, batch=1).work(burst=True, logging_level="WARNING")

    assert calls == [("process_message", 1), ("process_message", 2)]
    assert len(queue.queue.finished_job_registry.get_job_ids()) == 2


def test_a_failing_batched_message_is_handed_to_rq_and_gets_its_retries(
    redis_url: str, calls: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail() -> None:
        raise RuntimeError("database said no")

    ON_MESSAGE[2] = fail
    queue = RQQueue(redis_url, "c2o-test", retry_intervals=(0,))  # production waits 5 s before a retry
    for message_id in (1, 2, 3):
        queue.enqueue("process_message", message_id)

    _worker(queue, batch=3).work(burst=True, logging_level="WARNING")

    # 2 ran in the batch, then at once as its RQ job, then once more as that job's retry; 3 went on.
    assert [i for _, i in calls].count(2) == 3
    assert [i for _, i in calls if i != 2] == [1, 3]
    failed = Job.fetch(job_id("process_message", 2), connection=queue.connection)
    assert failed.get_status() == JobStatus.FAILED
    assert queue.connection.zcard(Batch.lease_key_of(queue.queue)) == 0


def test_what_a_dead_worker_had_leased_goes_back_to_the_head_of_the_queue(redis_url: str, calls: list) -> None:
    queue = RQQueue(redis_url, "c2o-test")
    for message_id in (1, 2, 3, 4):
        queue.enqueue("process_message", message_id)
    dead = _worker(queue, batch=4)
    taken = Batch(dead, queue.queue).take(3)  # ... and the worker is SIGKILLed here, before processing any
    assert taken == [job_id("process_message", i) for i in (1, 2, 3)]
    assert queue.pending() == 1

    assert Batch.requeue_expired(queue.connection, queue.queue) == 0  # the lease still runs
    lease = dead.job_monitoring_interval + 10
    assert Batch.requeue_expired(queue.connection, queue.queue, now=time.time() + lease + 1) == 3
    assert queue.pending() == 4

    _worker(queue, batch=1).work(burst=True, logging_level="WARNING")
    assert calls == [("process_message", i) for i in (1, 2, 3, 4)]


def test_the_lease_is_renewed_while_a_long_batch_runs(redis_url: str, calls: list) -> None:
    queue = RQQueue(redis_url, "c2o-test")
    for message_id in (1, 2, 3):
        queue.enqueue("process_message", message_id)
    worker = _worker(queue, batch=3, job_monitoring_interval=0.1)
    lease_key = Batch.lease_key_of(queue.queue)
    scores: list[float] = []
    ON_MESSAGE[2] = lambda: (scores.append(queue.connection.zscore(lease_key, "process_message-3")),
                             time.sleep(0.35), scores.append(queue.connection.zscore(lease_key, "process_message-3")))

    worker.work(burst=True, logging_level="WARNING")

    assert scores[1] > scores[0]
    assert queue.connection.zcard(lease_key) == 0


def test_a_warm_shutdown_gives_back_what_the_batch_had_not_started(redis_url: str, calls: list) -> None:
    queue = RQQueue(redis_url, "c2o-test")
    for message_id in (1, 2, 3, 4):
        queue.enqueue("process_message", message_id)
    worker = _worker(queue, batch=4)
    ON_MESSAGE[2] = lambda: setattr(worker, "_stop_requested", True)  # SIGTERM while 2 runs

    worker.work(burst=True, logging_level="WARNING")

    assert calls == [("process_message", 1), ("process_message", 2)]
    assert queue.queue.get_job_ids() == ["process_message-3", "process_message-4"]
    assert queue.connection.zcard(Batch.lease_key_of(queue.queue)) == 0
