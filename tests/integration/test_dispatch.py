"""Dispatch: order sheets into the outbox, `deliver` exactly once per row, retries, recovery, relay, CLI."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from chat2order.cli import main
from chat2order.errors import InvalidInput
from chat2order.jobs import RecordingQueue
from chat2order.notify.smtp_sender import SmtpSender
from chat2order.notify.twilio_sender import TwilioSender
from chat2order.ordering import dispatch, outbox
from chat2order.runtime import Runtime
from chat2order.tables import Contact, Order, OutboundMessage
from tests import factories as f
from tests.helpers.dispatch_runtime import make_runtime
from tests.helpers.smtp_sink import SmtpSink
from tests.helpers.twilio_standin import TwilioStandIn

pytestmark = pytest.mark.postgres
CHEF = "+15550001111"


@pytest.fixture
def twilio() -> Iterator[TwilioStandIn]:
    with TwilioStandIn() as standin:
        yield standin


@pytest.fixture
def files_rt(pg_engine: Engine, committed_pg: sessionmaker[Session], tmp_path: Path) -> tuple[Runtime, RecordingQueue]:
    return make_runtime(pg_engine, committed_pg, tmp_path / "outbox")


def _twilio_rt(pg_engine: Engine, maker: sessionmaker[Session], tmp_path: Path, twilio: TwilioStandIn,
               timeout: float = 5.0) -> tuple[Runtime, RecordingQueue]:
    sender = TwilioSender(twilio.account_sid, twilio.auth_token, api_base=twilio.base_url,
                          public_base_url="https://app.example", timeout=timeout)
    return make_runtime(pg_engine, maker, tmp_path / "outbox", sms=sender)


def _sms_row(maker: sessionmaker[Session], **changes: Any) -> int:
    order = f.OrderFactory(status="confirmed")
    fields: dict[str, Any] = {"channel": "sms", "recipient": CHEF, "body": "Order C2O confirmed", "purpose": "confirmation",
                                  "order": order}
    fields.update(changes)
    return int(f.OutboundMessageFactory(**fields).id)


def _row(maker: sessionmaker[Session], outbox_id: int) -> OutboundMessage:
    with maker() as session:
        row = session.get(OutboundMessage, outbox_id)
        assert row is not None
        return row


def _set(maker: sessionmaker[Session], outbox_id: int, **values: Any) -> None:
    with maker() as session, session.begin():
        session.execute(update(OutboundMessage).where(OutboundMessage.id == outbox_id).values(**values))


def _stale_sending(maker: sessionmaker[Session], outbox_id: int) -> None:
    """What a worker killed mid-send leaves: `sending`, one attempt, lease run out."""
    _set(maker, outbox_id, status="sending", attempts=1,
         next_attempt_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))


# ---------------------------------------------------------------------------------------------------------
# Order sheets into the outbox.


def _confirmed_order(db: Session, **supplier: Any) -> Order:
    supplier_row = f.SupplierFactory(**supplier)
    order = f.OrderFactory(supplier=supplier_row, status="confirmed")
    f.OrderLineFactory(order=order, item__supplier=supplier_row, quantity=Decimal(2))
    db.refresh(order)
    return order


def test_order_sheet_is_an_email_with_csv_and_pdf_and_an_sms_summary(db: Session) -> None:
    order = _confirmed_order(db, order_email="orders@s.example", order_phone="+15552220000")
    email, sms = dispatch.queue_order_sheet(db, order)
    assert (email.channel, email.recipient, sms.channel, sms.recipient) == (
        "email", "orders@s.example", "sms", "+15552220000")
    assert [a["filename"] for a in email.attachments] == [f"C2O-{order.id}.csv", f"C2O-{order.id}.pdf"]
    assert email.html and email.subject and email.purpose == sms.purpose == "order_sheet"


def test_writing_the_order_sheet_twice_writes_it_once(db: Session) -> None:
    order = _confirmed_order(db, order_email="orders@s.example", order_phone=None)
    first = dispatch.queue_order_sheet(db, order)
    again = dispatch.queue_order_sheet(db, order)
    assert [r.id for r in again] == [r.id for r in first]


def test_a_supplier_with_no_email_and_no_phone_is_an_error_not_a_silent_loss(db: Session) -> None:
    order = _confirmed_order(db, order_email=None, order_phone=None)
    with pytest.raises(InvalidInput):
        dispatch.queue_order_sheet(db, order)


# ---------------------------------------------------------------------------------------------------------
# deliver: once.


def test_deliver_sends_and_records_sent_with_the_provider_id(committed_pg: sessionmaker[Session],
                                                             files_rt: tuple[Runtime, RecordingQueue]) -> None:
    rt, _ = files_rt
    outbox_id = _sms_row(committed_pg)
    dispatch.deliver(rt, outbox_id)
    row = _row(committed_pg, outbox_id)
    assert (row.status, row.attempts, row.provider_id) == ("sent", 1, f"file:outbox-{outbox_id:08d}.json")


def test_delivering_a_row_twice_sends_it_once(committed_pg: sessionmaker[Session], pg_engine: Engine,
                                              tmp_path: Path, twilio: TwilioStandIn) -> None:
    rt, _ = _twilio_rt(pg_engine, committed_pg, tmp_path, twilio)
    outbox_id = _sms_row(committed_pg)
    dispatch.deliver(rt, outbox_id)
    dispatch.deliver(rt, outbox_id)
    assert len(twilio.messages) == 1


def test_sending_the_order_sheet_marks_the_order_dispatched(committed_pg: sessionmaker[Session],
                                                            files_rt: tuple[Runtime, RecordingQueue]) -> None:
    rt, _ = files_rt
    outbox_id = _sms_row(committed_pg, purpose="order_sheet")
    dispatch.deliver(rt, outbox_id)
    with committed_pg() as session:
        order = session.get(OutboundMessage, outbox_id).order  # type: ignore[union-attr]
        assert (order.status, order.dispatched_at is not None) == ("dispatched", True)


def test_a_row_another_attempt_is_sending_is_deferred_and_not_sent(committed_pg: sessionmaker[Session], pg_engine: Engine,
                                                                   tmp_path: Path, twilio: TwilioStandIn) -> None:
    rt, _ = _twilio_rt(pg_engine, committed_pg, tmp_path, twilio)
    outbox_id = _sms_row(committed_pg, status="sending", attempts=1,
                         next_attempt_at=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=60))
    with pytest.raises(dispatch.DeliveryDeferred):
        dispatch.deliver(rt, outbox_id)
    assert twilio.messages == []


# ---------------------------------------------------------------------------------------------------------
# deliver: recovery after a worker died between "sending" and "sent".


def test_an_interrupted_send_twilio_already_holds_is_recorded_not_sent_again(
    committed_pg: sessionmaker[Session], pg_engine: Engine, tmp_path: Path, twilio: TwilioStandIn
) -> None:
    rt, _ = _twilio_rt(pg_engine, committed_pg, tmp_path, twilio)
    outbox_id = _sms_row(committed_pg)
    sid = TwilioSender(twilio.account_sid, twilio.auth_token, api_base=twilio.base_url).send(
        dispatch._outgoing(_row_with_relations(committed_pg, outbox_id), rt)).provider_id
    _stale_sending(committed_pg, outbox_id)
    dispatch.deliver(rt, outbox_id)
    assert (len(twilio.messages), _row(committed_pg, outbox_id).provider_id) == (1, sid)


def _row_with_relations(maker: sessionmaker[Session], outbox_id: int) -> OutboundMessage:
    with maker() as session:
        row = session.get(OutboundMessage, outbox_id)
        assert row is not None
        _ = row.order.supplier if row.order else None, row.inbound_message
        return row


def test_an_interrupted_send_twilio_never_received_is_sent_once(committed_pg: sessionmaker[Session], pg_engine: Engine,
                                                                tmp_path: Path, twilio: TwilioStandIn) -> None:
    rt, _ = _twilio_rt(pg_engine, committed_pg, tmp_path, twilio)
    outbox_id = _sms_row(committed_pg)
    _stale_sending(committed_pg, outbox_id)
    dispatch.deliver(rt, outbox_id)
    assert len(twilio.messages) == 1
    assert _row(committed_pg, outbox_id).status == "sent"


def test_a_twilio_timeout_after_it_stored_the_message_is_looked_up_not_resent(
    committed_pg: sessionmaker[Session], pg_engine: Engine, tmp_path: Path, twilio: TwilioStandIn
) -> None:
    rt, _ = _twilio_rt(pg_engine, committed_pg, tmp_path, twilio, timeout=0.3)
    twilio.response_delay = lambda _m: 1.0
    outbox_id = _sms_row(committed_pg)
    with pytest.raises(dispatch.DeliveryDeferred):
        dispatch.deliver(rt, outbox_id)
    assert _row(committed_pg, outbox_id).status == "sending"  # outcome unknown: keep the lookup for later
    dispatch.deliver(rt, outbox_id, now=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5))
    assert (len(twilio.messages), _row(committed_pg, outbox_id).provider_id) == (1, twilio.messages[0].sid)


def test_an_interrupted_email_is_resent_with_the_same_message_id(committed_pg: sessionmaker[Session], pg_engine: Engine,
                                                                 tmp_path: Path) -> None:
    with SmtpSink() as sink:
        rt, _ = make_runtime(pg_engine, committed_pg, tmp_path, email=SmtpSender.from_url(sink.relay_url, timeout=0.3))
        sink.data_delay = lambda _m: 1.0 if len(sink.received) == 1 else 0.0
        outbox_id = _sms_row(committed_pg, channel="email", recipient="orders@s.example")
        with pytest.raises(dispatch.DeliveryDeferred):
            dispatch.deliver(rt, outbox_id)
        dispatch.deliver(rt, outbox_id, now=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5))
        copies = sink.wait_for(2)
    assert len({mail.message_id for mail in copies}) == 1  # a receiver keeps one
    assert _row(committed_pg, outbox_id).status == "sent"


# ---------------------------------------------------------------------------------------------------------
# deliver: failures.


def test_a_rate_limited_send_goes_back_to_pending_with_a_backoff(committed_pg: sessionmaker[Session], pg_engine: Engine,
                                                                 tmp_path: Path, twilio: TwilioStandIn) -> None:
    rt, _ = _twilio_rt(pg_engine, committed_pg, tmp_path, twilio)
    twilio.fail_next_creates(1, status=429, code=20429)
    outbox_id = _sms_row(committed_pg)
    with pytest.raises(dispatch.DeliveryDeferred):
        dispatch.deliver(rt, outbox_id)
    row = _row(committed_pg, outbox_id)
    assert (row.status, row.attempts, row.next_attempt_at is not None) == ("pending", 1, True)
    dispatch.deliver(rt, outbox_id)
    assert (_row(committed_pg, outbox_id).status, len(twilio.messages)) == ("sent", 1)


def test_an_opted_out_recipient_is_undeliverable_flagged_and_never_retried(
    committed_pg: sessionmaker[Session], pg_engine: Engine, tmp_path: Path, twilio: TwilioStandIn
) -> None:
    rt, _ = _twilio_rt(pg_engine, committed_pg, tmp_path, twilio)
    contact_id = f.ContactFactory(phone=CHEF).id
    twilio.opted_out.add(CHEF)
    outbox_id = _sms_row(committed_pg)
    dispatch.deliver(rt, outbox_id)
    dispatch.deliver(rt, outbox_id)
    assert _row(committed_pg, outbox_id).status == "undeliverable"
    assert [r for r in twilio.requests if r[0] == "POST"] == [twilio.requests[0]]
    with committed_pg() as session:
        assert session.get(Contact, contact_id).sms_opted_out is True  # type: ignore[union-attr]


def test_a_permanent_failure_parks_the_row_as_failed(committed_pg: sessionmaker[Session], pg_engine: Engine,
                                                     tmp_path: Path, twilio: TwilioStandIn) -> None:
    rt, _ = _twilio_rt(pg_engine, committed_pg, tmp_path, twilio)
    twilio.fail_next_creates(1, status=400, code=21211)
    outbox_id = _sms_row(committed_pg)
    dispatch.deliver(rt, outbox_id)
    row = _row(committed_pg, outbox_id)
    assert (row.status, "21211" in (row.last_error or "")) == ("failed", True)


def test_the_last_failed_attempt_parks_the_row_as_failed(committed_pg: sessionmaker[Session], pg_engine: Engine,
                                                         tmp_path: Path, twilio: TwilioStandIn) -> None:
    rt, _ = _twilio_rt(pg_engine, committed_pg, tmp_path, twilio)
    twilio.fail_next_creates(1, status=429)
    outbox_id = _sms_row(committed_pg, attempts=dispatch.MAX_ATTEMPTS - 1)
    dispatch.deliver(rt, outbox_id)
    assert _row(committed_pg, outbox_id).status == "failed"


def test_a_row_without_a_sending_number_fails_with_a_reason(committed_pg: sessionmaker[Session], pg_engine: Engine,
                                                            tmp_path: Path, twilio: TwilioStandIn) -> None:
    rt, _ = _twilio_rt(pg_engine, committed_pg, tmp_path, twilio)
    outbox_id = _sms_row(committed_pg, order=f.OrderFactory(supplier__inbound_phone=None))
    dispatch.deliver(rt, outbox_id)
    assert "sending number" in (_row(committed_pg, outbox_id).last_error or "")


# ---------------------------------------------------------------------------------------------------------
# Relay and manual retry.


def _old(**changes: Any) -> dict[str, Any]:
    return {"created_at": dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1), **changes}


def test_relay_republishes_pending_rows_a_crash_left_behind(committed_pg: sessionmaker[Session],
                                                            files_rt: tuple[Runtime, RecordingQueue]) -> None:
    rt, queue = files_rt
    old = _sms_row(committed_pg, **_old())
    fresh = _sms_row(committed_pg)
    assert dispatch.relay_pending(rt) == 1
    assert queue.ids() == [old]
    assert (_row(committed_pg, old).status, _row(committed_pg, fresh).status) == ("queued", "pending")


def test_relay_does_not_republish_a_queued_row_before_its_requeue_time(committed_pg: sessionmaker[Session],
                                                                       files_rt: tuple[Runtime, RecordingQueue]) -> None:
    rt, queue = files_rt
    _sms_row(committed_pg, **_old())
    dispatch.relay_pending(rt)
    dispatch.relay_pending(rt)
    assert len(queue.ids()) == 1
    dispatch.relay_pending(rt, now=dt.datetime.now(dt.UTC) + dispatch.REQUEUE_AFTER + dt.timedelta(seconds=1))
    assert len(queue.ids()) == 2


def test_relay_waits_for_a_retrys_backoff(committed_pg: sessionmaker[Session],
                                          files_rt: tuple[Runtime, RecordingQueue]) -> None:
    rt, _queue = files_rt
    _sms_row(committed_pg, **_old(next_attempt_at=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=2)))
    assert dispatch.relay_pending(rt) == 0


def test_relay_picks_up_a_send_whose_lease_ran_out(committed_pg: sessionmaker[Session],
                                                   files_rt: tuple[Runtime, RecordingQueue]) -> None:
    rt, _queue = files_rt
    outbox_id = _sms_row(committed_pg)
    _stale_sending(committed_pg, outbox_id)
    assert dispatch.relay_pending(rt) == 1
    assert _row(committed_pg, outbox_id).status == "sending"  # deliver decides, after a lookup


def test_relay_skips_rows_another_relay_has_locked(committed_pg: sessionmaker[Session],
                                                   files_rt: tuple[Runtime, RecordingQueue]) -> None:
    rt, queue = files_rt
    locked, free = _sms_row(committed_pg, **_old()), _sms_row(committed_pg, **_old())
    with committed_pg() as other, other.begin():
        other.execute(select(OutboundMessage).where(OutboundMessage.id == locked).with_for_update())
        assert dispatch.relay_pending(rt) == 1
    assert queue.ids() == [free]


def test_retry_failed_requeues_a_failed_row_which_is_then_sent(committed_pg: sessionmaker[Session],
                                                               files_rt: tuple[Runtime, RecordingQueue]) -> None:
    rt, queue = files_rt
    outbox_id = _sms_row(committed_pg, status="failed", attempts=dispatch.MAX_ATTEMPTS, last_error="boom")
    assert dispatch.retry_failed(rt, outbox_id) == [outbox_id] == queue.ids()
    dispatch.deliver(rt, outbox_id)
    assert _row(committed_pg, outbox_id).status == "sent"


def test_retry_refuses_a_row_that_has_not_failed(committed_pg: sessionmaker[Session],
                                                 files_rt: tuple[Runtime, RecordingQueue]) -> None:
    rt, _ = files_rt
    with pytest.raises(InvalidInput):
        dispatch.retry_failed(rt, _sms_row(committed_pg, status="sent"))


# ---------------------------------------------------------------------------------------------------------
# The embedded default (SQLite) and the command line.


def test_deliver_on_the_embedded_sqlite_database_writes_the_outbox_file_once(
    sqlite_engine: Engine, sqlite_sessionmaker: sessionmaker[Session], tmp_path: Path
) -> None:
    rt, _ = make_runtime(sqlite_engine, sqlite_sessionmaker, tmp_path / "outbox")
    with sqlite_sessionmaker() as session, session.begin():
        row = outbox.add(session, channel="email", recipient="o@s.example", body="sheet", purpose="order_sheet",
                         idempotency_key="k")
    dispatch.deliver(rt, row.id)
    dispatch.deliver(rt, row.id)
    assert len(list((tmp_path / "outbox").glob("*.json"))) == 1
    assert dispatch.relay_pending(rt, now=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)) == 0


def _cli(pg_url: str, tmp_path: Path, *args: str) -> Any:
    env = {"DATABASE_URL": pg_url, "OUTBOX_DIR": str(tmp_path / "outbox"), "REDIS_URL": "", "TWILIO_ACCOUNT_SID": "",
           "SMTP_RELAY_URL": "", "VAR_DIR": str(tmp_path)}
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def test_cli_status_shows_pending_sent_and_failed_counts_and_rows(committed_pg: sessionmaker[Session], pg_url: str,
                                                                  tmp_path: Path) -> None:
    for status in ("pending", "sent", "failed", "failed"):
        _sms_row(committed_pg, status=status)
    result = _cli(pg_url, tmp_path, "dispatch", "status", "--json")
    report = json.loads(result.output)
    assert (report["pending"], report["sent"], report["failed"], len(report["rows"])) == (1, 1, 2, 3)


def test_cli_retry_all_failed_sends_them_in_the_embedded_default(committed_pg: sessionmaker[Session], pg_url: str,
                                                                 tmp_path: Path) -> None:
    ids = [_sms_row(committed_pg, status="failed") for _ in range(2)]
    result = _cli(pg_url, tmp_path, "dispatch", "retry", "--all-failed")
    assert "requeued 2" in result.output
    assert [_row(committed_pg, i).status for i in ids] == ["sent", "sent"]


def test_cli_retry_without_an_id_or_flag_is_a_one_line_error(pg_url: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["dispatch", "retry"], env={"DATABASE_URL": pg_url})
    assert result.exit_code != 0 and "--all-failed" in result.output


def test_cli_relay_sends_what_was_left_pending(committed_pg: sessionmaker[Session], pg_url: str, tmp_path: Path) -> None:
    outbox_id = _sms_row(committed_pg, **_old())
    assert "enqueued 1" in _cli(pg_url, tmp_path, "dispatch", "relay").output
    assert _row(committed_pg, outbox_id).status == "sent"



def test_a_status_callback_that_arrives_before_our_sent_commit_is_not_overwritten(
    committed_pg: sessionmaker[Session], pg_engine: Engine, tmp_path: Path
) -> None:
    from chat2order.notify import Outgoing, Sent
    from chat2order.ordering import delivery_status

    class FastCallbackTwilio:
        name, resend_is_deduplicated = "twilio", False
        rt: Runtime

        def send(self, msg: Outgoing) -> Sent:
            delivery_status.record(self.rt, "SM" + "9" * 32, "delivered", outbox_id=msg.outbox_id)
            return Sent(provider_id="SM" + "9" * 32)

        def find_sent(self, msg: Outgoing) -> str | None:
            return None

    sender = FastCallbackTwilio()
    rt, _ = make_runtime(pg_engine, committed_pg, tmp_path, sms=sender)  # type: ignore[arg-type]
    sender.rt = rt
    outbox_id = _sms_row(committed_pg)
    dispatch.deliver(rt, outbox_id)
    row = _row(committed_pg, outbox_id)
    assert (row.status, row.provider_id) == ("delivered", "SM" + "9" * 32)


def test_the_morning_sheets_job_writes_and_enqueues_what_is_due(committed_pg: sessionmaker[Session],
                                                                files_rt: tuple[Runtime, RecordingQueue]) -> None:
    rt, queue = files_rt
    supplier = f.SupplierFactory(timezone="UTC", morning_sheet_at=dt.time(0, 0), order_email="o@s.example")
    order = f.OrderFactory(supplier=supplier, status="confirmed", delivery_date=dt.datetime.now(dt.UTC).date())
    f.OrderLineFactory(order=order, item__supplier=supplier)
    assert dispatch.morning_sheets(rt) == 1
    assert dispatch.morning_sheets(rt) == 0
    assert _row(committed_pg, queue.ids()[0]).purpose == "morning_sheet"


# ---------------------------------------------------------------------------------------------------------
# Amended and cancelled orders.


def _sheet_order(db: Session) -> Order:
    return _confirmed_order(db, order_email="orders@s.example", order_phone=None, locale="en-US")


def test_cancelling_before_dispatch_withdraws_the_sheet_and_tells_the_supplier_nothing(db: Session) -> None:
    order = _sheet_order(db)
    [sheet] = dispatch.queue_order_sheet(db, order)
    assert dispatch.queue_cancellation(db, order) == []
    assert sheet.status == "cancelled"


def test_cancelling_after_the_sheet_went_out_sends_the_supplier_a_cancellation(db: Session) -> None:
    order = _sheet_order(db)
    [sheet] = dispatch.queue_order_sheet(db, order)
    sheet.status = "sent"
    [notice] = dispatch.queue_cancellation(db, order)
    assert (notice.recipient, notice.purpose) == ("orders@s.example", "order_cancelled")
    assert f"C2O-{order.id}" in notice.body and notice.body.startswith("Cancelled")


def test_a_revised_sheet_withdraws_the_unsent_one(db: Session) -> None:
    order = _sheet_order(db)
    [first] = dispatch.queue_order_sheet(db, order)
    [second] = dispatch.queue_order_sheet(db, order, revision="edit1")
    assert (first.status, second.status) == ("cancelled", "pending")
    assert not second.subject.startswith("Amended")  # type: ignore[union-attr]


def test_a_revised_sheet_after_the_first_went_out_is_marked_amended(db: Session) -> None:
    order = _sheet_order(db)
    [first] = dispatch.queue_order_sheet(db, order)
    first.status = "sent"
    [second] = dispatch.queue_order_sheet(db, order, revision="edit1")
    assert second.subject.startswith("Amended: Order")  # type: ignore[union-attr]
    assert first.status == "sent"


def test_deliver_never_sends_the_sheet_of_an_order_cancelled_meanwhile(committed_pg: sessionmaker[Session],
                                                                      files_rt: tuple[Runtime, RecordingQueue],
                                                                      tmp_path: Path) -> None:
    rt, _ = files_rt
    outbox_id = _sms_row(committed_pg, purpose="order_sheet", order=f.OrderFactory(status="cancelled"))
    dispatch.deliver(rt, outbox_id)
    assert _row(committed_pg, outbox_id).status == "cancelled"
    assert not (tmp_path / "outbox").exists()


# ---------------------------------------------------------------------------------------------------------
# WhatsApp's 24-hour window.


def test_whatsapp_reply_inside_the_24_hour_window_is_sent(committed_pg: sessionmaker[Session], pg_engine: Engine,
                                                          tmp_path: Path, twilio: TwilioStandIn) -> None:
    rt, _ = _twilio_rt(pg_engine, committed_pg, tmp_path, twilio)
    f.InboundMessageFactory(channel="whatsapp", sender=f"whatsapp:{CHEF}",
                            received_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=23))
    outbox_id = _sms_row(committed_pg, channel="whatsapp")
    dispatch.deliver(rt, outbox_id)
    assert [m.to for m in twilio.messages] == [f"whatsapp:{CHEF}"]


def test_whatsapp_message_outside_the_24_hour_window_is_not_sent(committed_pg: sessionmaker[Session],
                                                                  pg_engine: Engine, tmp_path: Path,
                                                                  twilio: TwilioStandIn) -> None:
    rt, _ = _twilio_rt(pg_engine, committed_pg, tmp_path, twilio)
    f.InboundMessageFactory(channel="whatsapp", sender=f"whatsapp:{CHEF}",
                            received_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=25))
    outbox_id = _sms_row(committed_pg, channel="whatsapp")
    dispatch.deliver(rt, outbox_id)
    row = _row(committed_pg, outbox_id)
    assert (row.status, "24-hour" in (row.last_error or ""), twilio.messages) == ("undeliverable", True, [])


def test_a_failed_recovery_lookup_keeps_the_row_waiting_for_another_lookup(
    committed_pg: sessionmaker[Session], pg_engine: Engine, tmp_path: Path
) -> None:
    from chat2order.notify import Outgoing, Sent, TransientSendError

    class LookupDown:
        name, resend_is_deduplicated = "twilio", False
        sends = 0

        def send(self, msg: Outgoing) -> Sent:
            self.sends += 1
            return Sent(provider_id="SM" + "7" * 32)

        def find_sent(self, msg: Outgoing) -> str | None:
            raise TransientSendError("list API unavailable")

    sender = LookupDown()
    rt, _ = make_runtime(pg_engine, committed_pg, tmp_path, sms=sender)  # type: ignore[arg-type]
    outbox_id = _sms_row(committed_pg)
    _stale_sending(committed_pg, outbox_id)
    with pytest.raises(dispatch.DeliveryDeferred):
        dispatch.deliver(rt, outbox_id)
    assert (_row(committed_pg, outbox_id).status, sender.sends) == ("sending", 0)
