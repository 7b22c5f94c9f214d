"""A text through the whole spine: signed webhook -> stored -> queued after commit -> processed into a draft
order -> confirmation sent to the chef. Once in the embedded default (SQLite, in-process queue, file
outbox) and once as deployed (PostgreSQL, Redis/RQ, the warm worker)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from chat2order import jobs
from chat2order.config import Settings
from chat2order.jobs import InProcessQueue, RQQueue
from chat2order.runtime import Runtime
from chat2order.tables import InboundMessage, Order, OutboundMessage
from chat2order.web import create_app
from chat2order.worker import WarmWorker
from tests import factories
from tests.integration.twilio_support import BASE, TOKEN, load_form


def _kitchen() -> tuple[object, object, object]:
    supplier = factories.SupplierFactory(auto_confirm=False, locale="en-US", currency="USD")
    tomatoes = factories.CatalogItemFactory(
        supplier=supplier, name="Roma Tomatoes", pack="25 lb case", unit="case", price=Decimal("32.50")
    )
    factories.CatalogItemFactory(supplier=supplier, name="Cilantro", pack="bunch", unit="bunch", price=Decimal("1.25"))
    chef = factories.ContactFactory(locale="en-US")
    factories.AccountFactory(restaurant=chef.restaurant, supplier=supplier)
    return supplier, chef, tomatoes


def _post(app, form) -> int:  # type: ignore[no-untyped-def]
    from urllib.parse import urlencode

    from chat2order.channels.twilio import sign

    response = app.test_client().post(
        "/twilio/sms",
        data=urlencode(form),
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": sign(BASE + "/twilio/sms", form, TOKEN)},
    )
    return response.status_code


def _settings(tmp_path: Path, **kw: object) -> Settings:
    return Settings(twilio_auth_token=TOKEN, public_base_url=BASE, outbox_dir=tmp_path / "outbox", **kw)  # type: ignore[arg-type]


@pytest.mark.slow
def test_embedded_default_turns_a_text_into_a_draft_and_a_confirmation_file(
    tmp_path: Path, sqlite_engine, sqlite_sessionmaker
) -> None:
    supplier, chef, tomatoes = _kitchen()
    rt = Runtime(_settings(tmp_path), engine=sqlite_engine, sessionmaker=sqlite_sessionmaker)
    app = create_app(runtime=rt)
    form = load_form("sms_order", From=chef.phone, To=supplier.inbound_phone, Body="2 cases roma tomatoes")

    assert _post(app, form) == 200
    assert isinstance(rt.queue, InProcessQueue)
    assert rt.queue.join(timeout=120)
    rt.close()

    with sqlite_sessionmaker() as session:
        order = session.scalars(select(Order)).one()
        assert order.status == "awaiting_chef"
        assert [(line.catalog_item_id, line.quantity) for line in order.lines] == [(tomatoes.id, Decimal(2))]
        confirmation = session.scalars(select(OutboundMessage).where(OutboundMessage.order_id == order.id)).one()
        assert (confirmation.recipient, confirmation.status) == (chef.phone, "sent")
    [sent] = [json.loads(p.read_text()) for p in (tmp_path / "outbox").glob("*.json")]
    assert sent["to"] == chef.phone


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.redis
def test_deployed_shape_runs_processing_and_delivery_in_the_warm_worker(
    tmp_path: Path, pg_engine, committed_pg, redis_url: str
) -> None:
    supplier, chef, tomatoes = _kitchen()
    queue = RQQueue(redis_url, "c2o-test")
    rt = Runtime(_settings(tmp_path, redis_url=redis_url), engine=pg_engine, sessionmaker=committed_pg, queue=queue)
    app = create_app(runtime=rt)
    form = load_form("sms_order", From=chef.phone, To=supplier.inbound_phone, Body="2 cases roma tomatoes")

    assert _post(app, form) == 200
    assert _post(app, form) == 200  # Twilio redelivers: still one message, one order, one confirmation
    jobs.set_runtime(rt)
    try:
        WarmWorker(queue.queues, connection=queue.connection).work(burst=True, logging_level="WARNING")
    finally:
        jobs.set_runtime(None)

    with committed_pg() as session:
        assert session.scalars(select(InboundMessage.status)).all() == ["awaiting_chef"]
        order = session.scalars(select(Order)).one()
        assert order.status == "awaiting_chef"
        assert [line.catalog_item_id for line in order.lines] == [tomatoes.id]
        [confirmation] = session.scalars(select(OutboundMessage)).all()
        assert (confirmation.recipient, confirmation.status) == (chef.phone, "sent")
    assert len(list((tmp_path / "outbox").glob("*.json"))) == 1
