"""Reconciliation: inbound messages Twilio holds that we never stored (webhook refused while the database was
down) are read back from the Messages list of the Twilio stand-in and stored through the webhook's intake."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from chat2order.channels.twilio_history import TwilioHistory
from chat2order.config import Settings
from chat2order.jobs import InProcessQueue, RecordingQueue
from chat2order.ordering import reconcile
from chat2order.runtime import Runtime
from chat2order.tables import InboundMessage, Order, Watermark
from tests import factories
from tests.helpers.twilio_standin import TwilioStandIn
from tests.integration.twilio_support import TOKEN, build, load_form

pytestmark = pytest.mark.postgres


@pytest.fixture
def twilio() -> Iterator[TwilioStandIn]:
    with TwilioStandIn(auth_token=TOKEN) as standin:
        yield standin


@pytest.fixture
def kitchen() -> tuple[object, object]:
    supplier = factories.SupplierFactory(locale="en-US", auto_confirm=False, delivery_weekdays=[1, 2, 3, 4, 5, 6, 7])
    factories.CatalogItemFactory(supplier=supplier, name="Roma Tomatoes", pack="25 lb case", unit="case",
                                 price=Decimal("32.50"))
    chef = factories.ContactFactory(locale="en-US")
    factories.AccountFactory(restaurant=chef.restaurant, supplier=supplier)
    return supplier, chef


def _runtime(pg_engine: Engine, maker: sessionmaker[Session], twilio: TwilioStandIn, queue: object) -> Runtime:
    settings = Settings(database_url=str(pg_engine.url), twilio_account_sid=twilio.account_sid,
                        twilio_auth_token=TOKEN, twilio_api_base=twilio.base_url)
    return Runtime(settings, engine=pg_engine, sessionmaker=maker, queue=queue)  # type: ignore[arg-type]


def _source(twilio: TwilioStandIn, page_size: int = 50) -> TwilioHistory:
    return TwilioHistory(twilio.account_sid, TOKEN, api_base=twilio.base_url, page_size=page_size)


def _stored(maker: sessionmaker[Session]) -> list[InboundMessage]:
    with maker() as session:
        return list(session.scalars(select(InboundMessage).order_by(InboundMessage.id)))


def test_messages_twilio_has_that_we_missed_are_stored_routed_and_queued_once(
    pg_engine: Engine, committed_pg: sessionmaker[Session], twilio: TwilioStandIn, kitchen: tuple
) -> None:
    supplier, chef = kitchen
    queue = RecordingQueue()
    rt = _runtime(pg_engine, committed_pg, twilio, queue)
    missed = [twilio.receive_inbound(chef.phone, supplier.inbound_phone, f"{n} cases roma tomatoes") for n in (1, 2)]
    whatsapp = twilio.receive_inbound(f"whatsapp:{chef.phone}", f"whatsapp:{supplier.inbound_phone}", "3 cases roma")
    twilio.receive_inbound(chef.phone, "+15550009999", "to a number that is not ours")

    result = reconcile.reconcile(rt, _source(twilio))

    assert (result.stored, result.already, result.failed) == (3, 0, [])
    stored = {m.provider_id: m for m in _stored(committed_pg)}
    assert set(stored) == {m.sid for m in [*missed, whatsapp]}
    for message in stored.values():
        assert (message.contact_id, message.supplier_id, message.status) == (chef.id, supplier.id, "received")
        assert message.meta["reconciled"] is True
    assert stored[whatsapp.sid].channel == "whatsapp"
    assert stored[missed[0].sid].body == "1 cases roma tomatoes"
    assert f"MessageSid={missed[0].sid}" in stored[missed[0].sid].raw
    assert stored[missed[0].sid].received_at == missed[0].date_sent
    assert sorted(queue.ids("process_message")) == sorted(m.id for m in stored.values())


def test_a_message_already_stored_by_its_webhook_is_left_untouched(
    pg_engine: Engine, committed_pg: sessionmaker[Session], twilio: TwilioStandIn, kitchen: tuple
) -> None:
    supplier, chef = kitchen
    app = build(pg_engine, committed_pg)
    message = twilio.receive_inbound(chef.phone, supplier.inbound_phone, "2 cases roma tomatoes")
    app.post("/twilio/sms", load_form("sms_order", MessageSid=message.sid, SmsSid=message.sid,
                                      SmsMessageSid=message.sid, From=chef.phone, To=supplier.inbound_phone))
    [before] = _stored(committed_pg)
    queue = RecordingQueue()

    result = reconcile.reconcile(_runtime(pg_engine, committed_pg, twilio, queue), _source(twilio))

    assert (result.stored, result.already) == (0, 1)
    [after] = _stored(committed_pg)
    assert (after.id, after.body, after.raw, after.meta) == (before.id, before.body, before.raw, before.meta)
    assert queue.enqueued == []


def test_a_second_run_is_a_no_op_and_the_watermark_moves_forward(
    pg_engine: Engine, committed_pg: sessionmaker[Session], twilio: TwilioStandIn, kitchen: tuple
) -> None:
    supplier, chef = kitchen
    twilio.receive_inbound(chef.phone, supplier.inbound_phone, "2 cases roma tomatoes")
    first_at = dt.datetime.now(dt.UTC)
    queue = RecordingQueue()
    rt = _runtime(pg_engine, committed_pg, twilio, queue)
    first = reconcile.reconcile(rt, _source(twilio), now=first_at)
    queued = list(queue.enqueued)

    second = reconcile.reconcile(rt, _source(twilio), now=first_at + dt.timedelta(minutes=5))

    assert (first.stored, second.stored, second.already) == (1, 0, 1)
    assert first.since == first_at - dt.timedelta(hours=rt.settings.twilio_reconcile_lookback_hours)
    assert second.since == first_at - reconcile.OVERLAP
    assert reconcile.read_watermark(rt) == first_at + dt.timedelta(minutes=5)
    assert len(_stored(committed_pg)) == 1 and queue.enqueued == queued


def test_every_page_of_twilios_list_is_read(
    pg_engine: Engine, committed_pg: sessionmaker[Session], twilio: TwilioStandIn, kitchen: tuple
) -> None:
    supplier, chef = kitchen
    sent = [twilio.receive_inbound(chef.phone, supplier.inbound_phone, f"{n} cases roma tomatoes") for n in range(23)]
    rt = _runtime(pg_engine, committed_pg, twilio, RecordingQueue())

    result = reconcile.reconcile(rt, _source(twilio, page_size=5), numbers=[supplier.inbound_phone])

    assert result.stored == 23
    assert {m.provider_id for m in _stored(committed_pg)} == {m.sid for m in sent}
    pages = twilio.list_requests
    assert len(pages) == 5  # 5 + 5 + 5 + 5 + 3, following next_page_uri
    assert all("PageToken=" in page for page in pages[1:])


def test_messages_older_than_the_window_are_not_read(
    pg_engine: Engine, committed_pg: sessionmaker[Session], twilio: TwilioStandIn, kitchen: tuple
) -> None:
    supplier, chef = kitchen
    now = dt.datetime.now(dt.UTC)
    # Same day as the window's start, so Twilio's whole-day filter returns it: we must drop it ourselves.
    old = twilio.receive_inbound(chef.phone, supplier.inbound_phone, "old", sent_at=now - dt.timedelta(minutes=50))
    new = twilio.receive_inbound(chef.phone, supplier.inbound_phone, "new", sent_at=now - dt.timedelta(minutes=5))
    rt = _runtime(pg_engine, committed_pg, twilio, RecordingQueue())

    result = reconcile.reconcile(rt, _source(twilio), since=now - dt.timedelta(minutes=20))

    assert [m.provider_id for m in _stored(committed_pg)] == [new.sid]
    assert old.sid not in {m.provider_id for m in _stored(committed_pg)}
    assert result.watermark is None and reconcile.read_watermark(rt) is None  # a manual sweep


def test_a_failed_read_is_logged_keeps_the_watermark_and_the_next_run_stores_the_message(
    pg_engine: Engine, committed_pg: sessionmaker[Session], twilio: TwilioStandIn, kitchen: tuple,
    caplog: pytest.LogCaptureFixture,
) -> None:
    supplier, chef = kitchen
    rt = _runtime(pg_engine, committed_pg, twilio, RecordingQueue())
    earlier = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    reconcile.advance_watermark(rt, earlier)
    missed = twilio.receive_inbound(chef.phone, supplier.inbound_phone, "2 cases roma tomatoes")
    twilio.fail_next_lists(1, status=503)

    with caplog.at_level(logging.WARNING, logger="chat2order.ordering.reconcile"):
        failed = reconcile.reconcile(rt, _source(twilio), numbers=[supplier.inbound_phone])

    assert failed.failed == [supplier.inbound_phone] and failed.stored == 0
    assert "twilio reconciliation of" in caplog.text and "503" in caplog.text
    assert reconcile.read_watermark(rt) == earlier
    assert _stored(committed_pg) == []

    again = reconcile.reconcile(rt, _source(twilio), numbers=[supplier.inbound_phone])

    assert again.ok and again.since == earlier - reconcile.OVERLAP
    assert [m.provider_id for m in _stored(committed_pg)] == [missed.sid]
    assert reconcile.read_watermark(rt) > earlier


def test_reconciling_while_the_same_webhooks_arrive_stores_each_message_once(
    pg_engine: Engine, committed_pg: sessionmaker[Session], twilio: TwilioStandIn, kitchen: tuple
) -> None:
    supplier, chef = kitchen
    app = build(pg_engine, committed_pg)
    sent = [twilio.receive_inbound(chef.phone, supplier.inbound_phone, f"{n} cases roma tomatoes") for n in range(12)]
    rt = _runtime(pg_engine, committed_pg, twilio, RecordingQueue())

    def webhooks() -> None:
        client = app.app.test_client()
        for message in sent:
            form = load_form("sms_order", MessageSid=message.sid, SmsSid=message.sid, SmsMessageSid=message.sid,
                             From=chef.phone, To=supplier.inbound_phone, Body=message.body)
            from urllib.parse import urlencode

            from chat2order.channels.twilio import sign

            assert client.post("/twilio/sms", data=urlencode(form), content_type="application/x-www-form-urlencoded",
                               headers={"X-Twilio-Signature": sign(app.base + "/twilio/sms", form, TOKEN)}
                               ).status_code == 200

    runs = [threading.Thread(target=webhooks)] + [
        threading.Thread(target=reconcile.reconcile, args=(rt, _source(twilio, page_size=3))) for _ in range(2)
    ]
    for thread in runs:
        thread.start()
    for thread in runs:
        thread.join(timeout=60)

    stored = _stored(committed_pg)
    assert sorted(m.provider_id for m in stored) == sorted(m.sid for m in sent)
    enqueued = app.queue.ids("process_message") + rt.queue.ids("process_message")  # type: ignore[attr-defined]
    assert sorted(enqueued) == sorted(m.id for m in stored)


def test_reconciled_messages_are_processed_into_one_order_each(
    pg_engine: Engine, committed_pg: sessionmaker[Session], twilio: TwilioStandIn, kitchen: tuple, tmp_path: Path
) -> None:
    supplier, chef = kitchen
    twilio.receive_inbound(chef.phone, supplier.inbound_phone, "2 cases roma tomatoes")
    settings = Settings(database_url=str(pg_engine.url), twilio_account_sid=twilio.account_sid,
                        twilio_auth_token=TOKEN, twilio_api_base=twilio.base_url, outbox_dir=tmp_path / "outbox")
    rt = Runtime(settings, engine=pg_engine, sessionmaker=committed_pg)
    queue = InProcessQueue(rt)
    rt._queue = queue  # the embedded default's queue, running the real process_message job
    try:
        reconcile.reconcile(rt, _source(twilio))
        reconcile.reconcile(rt, _source(twilio))
        assert queue.join(timeout=120)
    finally:
        queue.close()
    with committed_pg() as session:
        orders = list(session.scalars(select(Order)))
        [message] = session.scalars(select(InboundMessage)).all()
    assert [o.source_message_id for o in orders] == [message.id]
    assert message.status == "awaiting_chef"


def test_cli_reconcile_reports_what_it_stored(
    pg_engine: Engine, pg_url: str, committed_pg: sessionmaker[Session], twilio: TwilioStandIn, kitchen: tuple,
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    from chat2order.cli import main

    supplier, chef = kitchen
    twilio.receive_inbound(chef.phone, supplier.inbound_phone, "2 cases roma tomatoes")
    env = {"DATABASE_URL": pg_url, "TWILIO_ACCOUNT_SID": twilio.account_sid, "TWILIO_AUTH_TOKEN": TOKEN,
           "TWILIO_API_BASE": twilio.base_url, "REDIS_URL": "", "VAR_DIR": str(tmp_path)}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    twilio.fail_next_lists(1)

    failed = CliRunner().invoke(main, ["twilio", "reconcile", "--number", supplier.inbound_phone, "--hours", "1"])
    ok = CliRunner().invoke(main, ["twilio", "reconcile", "--number", supplier.inbound_phone, "--hours", "1"])

    assert failed.exit_code == 1 and "FAILED" in failed.output
    assert ok.exit_code == 0, ok.output
    assert "1 stored now" in ok.output
    with committed_pg() as session:
        assert session.scalar(select(Watermark)) is None  # --hours is a manual sweep


def test_reconciliation_is_due_at_start_then_on_its_interval_and_only_with_twilio_credentials() -> None:
    from chat2order.worker import Periodic, reconcile_interval

    now = [1000.0]
    periodic = Periodic(sheets_every=60, reconcile_every=300, clock=lambda: now[0])
    ticks = []
    for _ in range(4):
        ticks.append(periodic.due())
        now[0] += 100

    assert [tick.count("reconcile_twilio") for tick in ticks] == [1, 0, 0, 1]
    assert all("relay_outbox" in tick for tick in ticks)
    assert reconcile_interval(Settings(twilio_account_sid="AC1", twilio_auth_token="t")) == 300
    assert reconcile_interval(Settings(twilio_account_sid="AC1", twilio_auth_token="t",
                                       twilio_reconcile_seconds=0)) == 0
    assert reconcile_interval(Settings()) == 0  # no credentials: nothing to read the log with
