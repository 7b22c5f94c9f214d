"""A job's log lines carry the id of the message or outbox row it works on, in the worker and in-process."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from chat2order import jobs
from chat2order.config import Settings
from chat2order.jobs import InProcessQueue, RQQueue
from chat2order.observability import JsonFormatter, _ContextFilter
from chat2order.runtime import Runtime
from chat2order.worker import WarmWorker


class _Lines(logging.Handler):
    """The JSON lines production would write, as dicts."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.addFilter(_ContextFilter())
        self.lines: list[dict[str, object]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


@pytest.fixture
def json_lines() -> Iterator[_Lines]:
    handler = _Lines()
    logger = logging.getLogger("chat2order")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(old_level)


@pytest.mark.postgres
@pytest.mark.redis
def test_rq_worker_job_logs_carry_the_message_id(
    pg_engine: Engine, committed_pg: sessionmaker[Session], redis_url: str, redis_conn: object,
    json_lines: _Lines,
) -> None:
    queue = RQQueue(redis_url, connection=redis_conn)
    jobs.set_runtime(Runtime(Settings(redis_url=redis_url), engine=pg_engine, sessionmaker=committed_pg, queue=queue))
    try:
        queue.enqueue("process_message", 987654)  # no such message: the job fails and says so
        WarmWorker(queue.queues, connection=redis_conn).work(burst=True)
    finally:
        jobs.set_runtime(None)

    failed = [line for line in json_lines.lines if line["logger"] == "chat2order.jobs"]
    assert failed, "the job logged nothing"
    assert all(line["message_id"] == 987654 and line["job"] == "process_message" for line in failed)


@pytest.mark.postgres
def test_in_process_deliver_logs_carry_the_outbox_id(
    pg_engine: Engine, committed_pg: sessionmaker[Session], json_lines: _Lines,
) -> None:
    runtime = Runtime(Settings(), engine=pg_engine, sessionmaker=committed_pg)
    queue = InProcessQueue(runtime, retry_intervals=())
    runtime._queue = queue

    queue.enqueue("deliver", 424242)  # no such outbox row: dispatch logs a warning and returns
    assert queue.join(timeout=30)
    queue.close()

    from_dispatch = [line for line in json_lines.lines if line["logger"] == "chat2order.ordering.dispatch"]
    assert from_dispatch, "dispatch logged nothing"
    assert all(line["outbox_id"] == 424242 and line["job"] == "deliver" for line in from_dispatch)


def test_observed_job_records_its_duration() -> None:
    from chat2order.metrics import JOB_SECONDS

    def count() -> float:
        return next(s.value for s in JOB_SECONDS.collect()[0].samples
                    if s.name.endswith("_count") and s.labels["job"] == "relay_outbox")

    before = count() if any(s.labels.get("job") == "relay_outbox" for s in JOB_SECONDS.collect()[0].samples) else 0

    jobs.observed("relay_outbox", lambda rt: 3)(Runtime(Settings()))

    assert count() == before + 1


def test_a_finished_job_says_its_wall_time_and_its_cpu_time(json_lines: _Lines) -> None:
    def busy(rt: Runtime, message_id: int) -> None:
        deadline = time.thread_time() + 0.05
        while time.thread_time() < deadline:
            pass
        time.sleep(0.1)

    jobs.observed("process_message", busy)(Runtime(Settings()), 5)

    [done] = [line["msg"] for line in json_lines.lines if str(line["msg"]).startswith("job process_message-5 done")]
    wall, cpu = (float(x) for x in re.findall(r"([\d.]+)s", str(done)))
    assert wall >= 0.15 and 0.05 <= cpu < wall
