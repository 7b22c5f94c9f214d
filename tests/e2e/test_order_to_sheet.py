"""End to end on PostgreSQL + Redis with real `chat2order worker` processes: a confirmed order's sheet reaches
the supplier's mail server (a local aiosmtpd sink, STARTTLS) exactly once, also when the worker is SIGKILLed
in the middle of the deliver job (and inbound messages are processed once when it is killed in the middle of a
batch) and when Redis is killed and restarted between confirmation and dispatch
(a private redis-server on its own port, so other test runs sharing the machine's Redis are not disturbed).

Each test is bounded (pytest-timeout and explicit deadlines) and leaves no process or Redis down behind it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from chat2order.jobs import RQQueue, job_id
from chat2order.ordering import dispatch
from chat2order.tables import InboundMessage, Order, OutboundMessage
from tests import factories as f
from tests.helpers.smtp_sink import SmtpSink

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow, pytest.mark.timeout(150)]

SUPPLIER_EMAIL = "orders@greengrocer.example"
LEASE_SECONDS = 6  # the worker's SMTP timeout is half of it: a 4 s pause at RCPT stays inside one attempt
CHAT2ORDER = str(Path(sys.executable).with_name("chat2order"))


def wait_until(predicate: Callable[[], bool], timeout: float, what: str, logs: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    tail = logs.read_text()[-3000:] if logs is not None and logs.exists() else ""
    raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{tail}")


class Workers:
    """`chat2order worker` processes started by this test (and only those are stopped or killed)."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env, self.logs = env, logs
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self) -> subprocess.Popen[bytes]:
        log = self.logs.open("ab")
        proc = subprocess.Popen([CHAT2ORDER, "worker", "--no-warm"], env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self.procs.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)  # RQ: a second SIGTERM is a cold shutdown (no 5 s dequeue wait)
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink(tls=True, username="relay", password="relay-pass") as server:
        yield server


@pytest.fixture
def workers(pg_url: str, redis_url: str, sink: SmtpSink, tmp_path: Path) -> Iterator[Workers]:
    env = {
        **os.environ,
        "DATABASE_URL": pg_url,
        "REDIS_URL": redis_url,
        "SMTP_RELAY_URL": sink.relay_url,
        "DISPATCH_LEASE_SECONDS": str(LEASE_SECONDS),
        "OUTBOX_DIR": str(tmp_path / "outbox"),
        "VAR_DIR": str(tmp_path),
        "MAIL_DOMAIN": "c2o.test",
        "TWILIO_ACCOUNT_SID": "",
        "TWILIO_AUTH_TOKEN": "",
        "LOG_FORMAT": "text",
    }
    pool = Workers(env, tmp_path / "worker.log")
    try:
        yield pool
    finally:
        pool.stop_all()


def confirm_order(maker: sessionmaker[Session]) -> list[int]:
    """A confirmed order and its sheet row, committed together (what `orders.confirm` does); returns row ids."""
    supplier = f.SupplierFactory(order_email=SUPPLIER_EMAIL, order_phone=None, locale="en-US", currency="USD")
    order = f.OrderFactory(supplier=supplier, status="awaiting_chef")
    for n in range(3):
        f.OrderLineFactory(order=order, item__supplier=supplier, quantity=Decimal(n + 1), needs_review=False)
    with maker() as session, session.begin():
        fresh = session.get(Order, order.id)
        assert fresh is not None
        fresh.status = "confirmed"
        rows = dispatch.queue_order_sheet(session, fresh)
        return [row.id for row in rows]


def row_status(maker: sessionmaker[Session], outbox_id: int) -> str:
    with maker() as session:
        row = session.get(OutboundMessage, outbox_id)
        assert row is not None
        return row.status


def assert_sheet_received_once(sink: SmtpSink, maker: sessionmaker[Session], outbox_id: int) -> None:
    [mail] = [m for m in sink.received if SUPPLIER_EMAIL in m.rcpt_tos]
    names = sorted(p.get_filename() for p in mail.message.iter_attachments())
    assert names[0].endswith(".csv") and names[1].endswith(".pdf")
    with maker() as session:
        row = session.get(OutboundMessage, outbox_id)
        assert row is not None and row.status == "sent" and row.provider_id == mail.message_id
        assert row.order is not None and row.order.status == "dispatched"


def test_confirmed_order_sheet_reaches_the_supplier_once(committed_pg: sessionmaker[Session], redis_url: str,
                                                          sink: SmtpSink, workers: Workers) -> None:
    [outbox_id] = confirm_order(committed_pg)
    RQQueue(redis_url).enqueue("deliver", outbox_id)  # the service's enqueue after its commit
    workers.start()
    wait_until(lambda: row_status(committed_pg, outbox_id) == "sent", 30, "the sheet to be sent", workers.logs)
    dispatch_again_through_the_relay(committed_pg, redis_url, outbox_id)
    assert_sheet_received_once(sink, committed_pg, outbox_id)


def dispatch_again_through_the_relay(maker: sessionmaker[Session], redis_url: str, outbox_id: int) -> None:
    """Enqueue the same row again, as a duplicate webhook or an over-eager relay would, and let it run."""
    from redis import Redis
    from rq.job import Job

    RQQueue(redis_url).enqueue("deliver", outbox_id)
    job = Job.fetch(job_id("deliver", outbox_id), connection=Redis.from_url(redis_url))
    wait_until(lambda: job.get_status() == "finished", 20, "the duplicate job to run")


def test_worker_killed_in_the_middle_of_the_deliver_job_still_sends_the_sheet_once(
    committed_pg: sessionmaker[Session], redis_url: str, sink: SmtpSink, workers: Workers
) -> None:
    # The supplier's server pauses on the first attempt's RCPT TO: the worker is mid-conversation when killed.
    sink.rcpt_delay = lambda rcpt: 4.0 if sink.rcpt_attempts.count(rcpt) == 1 else 0.0
    [outbox_id] = confirm_order(committed_pg)
    RQQueue(redis_url).enqueue("deliver", outbox_id)
    first = workers.start()
    wait_until(lambda: SUPPLIER_EMAIL in sink.rcpt_attempts, 30, "the first attempt to reach RCPT", workers.logs)
    assert row_status(committed_pg, outbox_id) == "sending"
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    workers.start()
    wait_until(lambda: row_status(committed_pg, outbox_id) == "sent", 90, "recovery after the kill", workers.logs)
    assert len(sink.rcpt_attempts) == 2
    assert_sheet_received_once(sink, committed_pg, outbox_id)


def _children(pid: int) -> list[int]:
    return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")  # an orphan's zombie waits for a reaper that may never come


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal and /proc are Linux's")
def test_the_scheduler_process_of_a_killed_worker_stops_with_it(redis_url: str, workers: Workers) -> None:
    worker = workers.start()
    wait_until(lambda: bool(_children(worker.pid)), 30, "RQ's scheduler process to start", workers.logs)
    [scheduler] = _children(worker.pid)

    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)

    wait_until(lambda: not _running(scheduler), 10, "the orphaned scheduler to stop", workers.logs)


def test_worker_killed_after_the_server_took_the_data_resends_with_the_same_message_id(
    committed_pg: sessionmaker[Session], redis_url: str, sink: SmtpSink, workers: Workers
) -> None:
    # The one window SMTP cannot close: the server stored the message, the worker died before reading "250".
    # The resend carries the same Message-ID, so the supplier's mail system can drop it; we show it does.
    sink.data_delay = lambda _m: 4.0 if len(sink.received) == 1 else 0.0
    [outbox_id] = confirm_order(committed_pg)
    RQQueue(redis_url).enqueue("deliver", outbox_id)
    first = workers.start()
    wait_until(lambda: len(sink.received) == 1, 30, "the server to store the first copy", workers.logs)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    workers.start()
    wait_until(lambda: row_status(committed_pg, outbox_id) == "sent", 90, "recovery after the kill", workers.logs)
    copies = sink.by_message_id()
    assert len(copies) == 1 and len(next(iter(copies.values()))) == 2


def test_worker_killed_in_the_middle_of_a_batch_loses_and_repeats_no_message(
    committed_pg: sessionmaker[Session], redis_url: str, workers: Workers
) -> None:
    # Six orders from six chefs; the worker runs the first through RQ and takes the other five in one batch.
    # A row lock held here on the third message stops the batch there; the worker is SIGKILLed while it waits.
    supplier = f.SupplierFactory(auto_confirm=False, locale="en-US", currency="USD")
    f.CatalogItemFactory(supplier=supplier, sku="TOM-25", name="Roma Tomatoes", pack="25 lb case", unit="case")
    f.CatalogItemFactory(supplier=supplier, sku="ONI-50", name="Yellow Onions", pack="50 lb sack", unit="bag")
    restaurant = f.RestaurantFactory(locale="en-US")
    ids = [f.InboundMessageFactory(channel="chat", supplier=supplier, contact__restaurant=restaurant,
                                   contact__locale="en-US", body=f"{n + 1} cs roma tomatoes, 1 sack onions").id
           for n in range(6)]
    queue = RQQueue(redis_url)
    for message_id in ids:
        queue.enqueue("process_message", message_id)
    with committed_pg() as locker:
        locker.execute(select(InboundMessage.id).where(InboundMessage.id == ids[2]).with_for_update())
        try:
            first = workers.start()
            wait_until(lambda: "received" not in statuses(committed_pg, ids)[:2] and not waiting_messages(queue),
                       60, "the first two messages, and the rest taken into a batch", workers.logs)
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        finally:
            locker.rollback()
    done = statuses(committed_pg, ids)
    assert done[2:] == ["received"] * 4

    workers.start()  # its maintenance puts the dead worker's batch back once the lease ends (~15 s)
    wait_until(lambda: "received" not in statuses(committed_pg, ids), 90, "recovery of the batch", workers.logs)
    assert statuses(committed_pg, ids) == done[:2] * 3  # the same outcome for each
    with committed_pg() as session:
        orders = session.scalars(select(Order.source_message_id).where(Order.source_message_id.in_(ids))).all()
        replies = session.scalars(select(OutboundMessage.inbound_message_id)
                                  .where(OutboundMessage.inbound_message_id.in_(ids))).all()
    assert sorted(orders) == sorted(ids) and sorted(replies) == sorted(ids)  # one order and one reply each


def waiting_messages(queue: RQQueue) -> list[str]:
    return [work_id for work_id in queue.queue.get_job_ids() if work_id.startswith("process_message")]


def statuses(maker: sessionmaker[Session], ids: list[int]) -> list[str]:
    with maker() as session:
        found = dict(session.execute(select(InboundMessage.id, InboundMessage.status)
                                     .where(InboundMessage.id.in_(ids))).tuples().all())
    return [found[i] for i in ids]


class PrivateRedis:
    """A redis-server of our own on a free port, started like the machine's (no persistence), so killing and
    restarting it loses its queue without touching the Redis other test runs on this machine are using."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.port = folder, _free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no",
             "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_until(self.up, 10, "the private redis to start")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def up(self) -> bool:
        from redis import Redis
        from redis.exceptions import ConnectionError as RedisDown

        try:
            return bool(Redis.from_url(self.url, socket_timeout=1).ping())
        except RedisDown:
            return False


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    redis = PrivateRedis(tmp_path)
    redis.start()
    try:
        yield redis
    finally:
        redis.kill()


def test_redis_restarted_between_confirmation_and_dispatch_still_sends_the_sheet_once(
    committed_pg: sessionmaker[Session], private_redis: PrivateRedis, sink: SmtpSink, workers: Workers
) -> None:
    workers.env["REDIS_URL"] = private_redis.url
    [outbox_id] = confirm_order(committed_pg)
    RQQueue(private_redis.url).enqueue("deliver", outbox_id)  # the service's enqueue after its commit
    private_redis.kill()  # the deliver job was only in Redis: it is gone
    private_redis.start()
    assert RQQueue(private_redis.url).pending() == 0
    workers.start()  # its periodic relay finds the pending row in PostgreSQL
    wait_until(lambda: row_status(committed_pg, outbox_id) == "sent", 60, "the relay to dispatch", workers.logs)
    assert_sheet_received_once(sink, committed_pg, outbox_id)
