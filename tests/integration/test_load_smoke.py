"""A short run of the load script's scenario in one process, asserting its count invariants (never time).

Signed SMS webhooks (orders from known chefs, some redelivered, then each chef's signed "yes") go over real
HTTP to the app on a werkzeug server thread, jobs run in the in-process queue, the confirmations reach the
local Twilio REST stand-in and the order sheets an SMTP sink. Then, as `scripts/load_test.py` checks after
10,000 webhooks under gunicorn: every message stored once, one order per order message, every order
confirmed and dispatched once, every outbox row received once by its receiver.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib.util
import random
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.serving import make_server

from chat2order.config import Settings
from chat2order.runtime import Runtime
from chat2order.web import create_app
from tests.helpers.smtp_sink import SmtpSink
from tests.helpers.twilio_standin import TwilioStandIn

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.timeout(300)]

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "load_test.py"
ORDERS, REDELIVERIES, CONCURRENCY = 16, 4, 5


@pytest.fixture(scope="module")
def load_test() -> ModuleType:
    spec = importlib.util.spec_from_file_location("load_test", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while being defined
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def receivers(load_test: ModuleType) -> Iterator[tuple[TwilioStandIn, SmtpSink]]:
    with TwilioStandIn(auth_token=load_test.TOKEN) as twilio, SmtpSink(tls=False) as sink:
        yield twilio, sink


@pytest.mark.parametrize("rate", [0.0, 40.0], ids=["closed_loop", "open_loop"])
def test_webhooks_under_concurrency_become_orders_confirmed_and_dispatched_exactly_once(
    load_test: ModuleType, receivers: tuple[TwilioStandIn, SmtpSink], pg_url: str, pg_engine: Engine,
    committed_pg: sessionmaker[Session], tmp_path: Path, rate: float,
) -> None:
    twilio, sink = receivers
    demo = load_test.load_data(pg_url, ORDERS, auto_confirm=False)
    port = load_test.free_port()
    base = f"http://127.0.0.1:{port}"
    settings = Settings(
        database_url=pg_url, twilio_auth_token=load_test.TOKEN, twilio_account_sid=twilio.account_sid,
        twilio_api_base=twilio.base_url, public_base_url=base, smtp_relay_url=sink.relay_url,
        mail_domains=(load_test.MAIL_DOMAIN,), outbox_dir=tmp_path / "outbox", var_dir=tmp_path,
    )
    runtime = Runtime(settings, engine=pg_engine, sessionmaker=committed_pg)  # in-process queue: no REDIS_URL
    server = make_server("127.0.0.1", port, create_app(runtime=runtime), threaded=True)
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    client = load_test.Client(port, "/twilio/sms", CONCURRENCY)
    webhook = base + "/twilio/sms"
    feeder = load_test.ReplyFeeder(pg_url, client, webhook, demo.supplier_phone)
    try:
        posts, order_sids = load_test.order_posts(client, webhook, demo, ORDERS, REDELIVERIES, random.Random(3))
        deadline = time.monotonic() + 240
        asyncio.run(load_test.run_load(client, posts, feeder, ORDERS, deadline, rate))
        state = load_test.wait_settled(pg_url, deadline, expect_done=True)
        figures = load_test.count_check(pg_url, order_sids, {load_test.sid_for("yes", o) for o in feeder.answered},
                                        twilio, sink)
    finally:
        server.shutdown()
        runtime.close()
        feeder.engine.dispose()

    assert all(result.status == 200 for result in client.results)
    assert len(client.results) == ORDERS + REDELIVERIES + ORDERS
    assert state == {"unprocessed": 0, "outbox_pending": 0, "awaiting_chef": 0, "confirmed_not_dispatched": 0}
    assert figures["lost_detail"] == dict.fromkeys(figures["lost_detail"], 0)
    assert figures["duplicated_detail"] == dict.fromkeys(figures["duplicated_detail"], 0)
    assert figures["stored"] == 2 * ORDERS
    assert figures["orders"] == figures["confirmed"] == figures["dispatched"] == ORDERS
    assert figures["sheet_emails_received"] == ORDERS
    assert figures["sms_received"] == 2 * ORDERS  # a confirmation and a "confirmed" answer per chef


def test_open_loop_hands_out_posts_on_a_fixed_schedule_replies_first(load_test: ModuleType) -> None:
    import collections

    orders = collections.deque(load_test.Post("order", f"SM{i}", b"") for i in range(3))
    replies = collections.deque([load_test.Post("reply", "SMyes", b"")])
    queue: asyncio.Queue = asyncio.Queue()
    stop = asyncio.Event()
    stop.set()
    t0 = time.perf_counter()

    asyncio.run(load_test.open_loop(queue, orders, replies, 1000.0, stop, t0))

    sent = [queue.get_nowait() for _ in range(queue.qsize())]
    assert [post.sid for post in sent] == ["SMyes", "SM0", "SM1", "SM2"]
    assert [post.scheduled for post in sent] == [t0 + slot / 1000.0 for slot in range(4)]


def test_latency_of_a_scheduled_post_counts_from_its_slot_not_from_when_it_was_sent(load_test: ModuleType) -> None:
    async def scenario() -> list:
        async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(answer, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        client = load_test.Client(port, "/twilio/sms", 1)
        late = load_test.Post("order", "SM1", b"POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
                              scheduled=time.perf_counter() - 5.0)  # its slot passed while the client was busy
        queue: asyncio.Queue = asyncio.Queue()
        queue.put_nowait(late)
        queue.put_nowait(None)
        async with server:
            await client.worker(queue)
        return client.results

    [result] = asyncio.run(scenario())

    assert result.status == 200
    assert result.seconds >= 5.0  # the wait for a free connection is part of the latency


@pytest.mark.redis
def test_a_stored_message_whose_job_redis_lost_is_processed_by_a_running_worker(
    committed_pg: sessionmaker[Session], pg_engine: Engine, redis_url: str, redis_conn: object, tmp_path: Path,
) -> None:
    from sqlalchemy import select

    from chat2order import jobs
    from chat2order.jobs import RQQueue
    from chat2order.ordering import intake
    from chat2order.tables import InboundMessage, utcnow
    from chat2order.worker import WarmWorker
    from tests import factories as f

    supplier = f.SupplierFactory(delivery_weekdays=[1, 2, 3, 4, 5, 6, 7])
    f.CatalogItemFactory(supplier=supplier, sku="TOM-25", name="Roma Tomatoes", pack="25 lb case", unit="case")
    chef = f.ContactFactory()
    f.AccountFactory(restaurant=chef.restaurant, supplier=supplier)
    queue = RQQueue(redis_url)
    runtime = Runtime(Settings(redis_url=redis_url, outbox_dir=tmp_path / "outbox"), engine=pg_engine,
                      sessionmaker=committed_pg, queue=queue)
    received = intake.receive(runtime, intake.Incoming(
        channel="sms", provider_id="SM" + "a" * 32, sender=chef.phone, recipient=supplier.inbound_phone,
        body="2 cases roma tomatoes", raw="", received_at=utcnow() - dt.timedelta(minutes=2),
    ))
    redis_conn.flushdb()  # type: ignore[attr-defined]  # Redis restarted without persistence: the job is gone

    jobs.set_runtime(runtime)
    try:
        worker = WarmWorker(queue.queues, connection=queue.connection, relay_queue=queue)
        worker.work(burst=True)  # a worker that was already running: its maintenance runs, then the jobs
    finally:
        jobs.set_runtime(None)
    with committed_pg() as session:
        status = session.scalar(select(InboundMessage.status).where(InboundMessage.id == received.message_id))
    assert status != "received"
