"""`/metrics`: inbound counters move with real webhooks; queue depth and orders by status read at scrape time."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from chat2order.config import Settings
from chat2order.db import make_engine
from chat2order.jobs import InProcessQueue, RQQueue
from chat2order.runtime import Runtime
from chat2order.web import create_app
from tests import factories
from tests.integration.twilio_support import TwilioApp, build, load_form


def _sample(client: FlaskClient, name: str, **labels: str) -> float | None:
    response = client.get("/metrics")
    assert response.status_code == 200
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return None


@pytest.fixture
def twilio_app(pg_engine: Engine, committed_pg: sessionmaker[Session]) -> TwilioApp:
    return build(pg_engine, committed_pg)


@pytest.mark.postgres
def test_signed_sms_webhook_moves_the_inbound_counter(twilio_app: TwilioApp) -> None:
    supplier = factories.SupplierFactory(locale="en-US")
    chef = factories.ContactFactory()
    factories.AccountFactory(restaurant=chef.restaurant, supplier=supplier)
    name = "chat2order_inbound_messages_total"
    before = _sample(twilio_app.client, name, channel="sms", outcome="received") or 0.0

    twilio_app.post("/twilio/sms", load_form("sms_order", From=chef.phone, To=supplier.inbound_phone))

    assert _sample(twilio_app.client, name, channel="sms", outcome="received") == before + 1


@pytest.mark.postgres
def test_redelivered_webhook_counts_as_duplicate(twilio_app: TwilioApp) -> None:
    supplier = factories.SupplierFactory(locale="en-US")
    chef = factories.ContactFactory()
    factories.AccountFactory(restaurant=chef.restaurant, supplier=supplier)
    form = load_form("sms_order", From=chef.phone, To=supplier.inbound_phone)
    twilio_app.post("/twilio/sms", form)
    name = "chat2order_inbound_messages_total"
    before = _sample(twilio_app.client, name, channel="sms", outcome="duplicate") or 0.0

    twilio_app.post("/twilio/sms", form)

    assert _sample(twilio_app.client, name, channel="sms", outcome="duplicate") == before + 1


@pytest.mark.postgres
def test_orders_by_status_counts_the_orders_table(pg_engine: Engine, committed_pg: sessionmaker[Session]) -> None:
    factories.OrderFactory.create_batch(2, status="awaiting_chef")
    factories.OrderFactory(status="confirmed")
    client = create_app(runtime=Runtime(Settings(), engine=pg_engine, sessionmaker=committed_pg)).test_client()

    assert _sample(client, "chat2order_orders_by_status", status="awaiting_chef") == 2
    assert _sample(client, "chat2order_orders_by_status", status="confirmed") == 1
    assert _sample(client, "chat2order_orders_by_status", status="dispatched") is None


@pytest.mark.redis
def test_queue_depth_reads_the_rq_queue(sqlite_engine: Engine, redis_url: str, redis_conn: object) -> None:
    queue = RQQueue(redis_url, connection=redis_conn)
    queue.enqueue("process_message", 1)
    queue.enqueue("deliver", 2)
    runtime = Runtime(Settings(redis_url=redis_url), engine=sqlite_engine, queue=queue)
    client = create_app(runtime=runtime).test_client()

    assert _sample(client, "chat2order_queue_depth", queue="chat2order") == 1
    assert _sample(client, "chat2order_queue_depth", queue="chat2order-dispatch") == 1
    assert _sample(client, "chat2order_queue_depth", queue="chat2order:failed") == 0


def test_queue_depth_reads_the_in_process_queue_when_embedded(sqlite_engine: Engine) -> None:
    runtime = Runtime(Settings(), engine=sqlite_engine)
    runtime._queue = InProcessQueue(runtime, runners={"deliver": lambda rt, outbox_id: None})
    client = create_app(runtime=runtime).test_client()

    assert _sample(client, "chat2order_queue_depth", queue="in-process") == 0


def test_metrics_still_answer_when_the_database_is_down() -> None:
    dead = make_engine("postgresql://postgres@127.0.0.1:1/nowhere", pool_pre_ping=False)
    client = create_app(runtime=Runtime(Settings(), engine=dead)).test_client()

    response = client.get("/metrics")

    assert response.status_code == 200
    assert b"chat2order_inbound_messages_total" in response.data
    assert b"chat2order_orders_by_status" not in response.data
    dead.dispose()
