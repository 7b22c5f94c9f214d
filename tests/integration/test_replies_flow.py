"""The chef answers the confirmation: yes / answer / edit / cancel, each change confirmed back.

PostgreSQL for the services; one end-to-end run in-process on SQLite through the real intake and queue.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from chat2order.ordering.processing import process_message
from chat2order.tables import InboundMessage, Order, OutboundMessage
from tests.helpers.ordering import NEW_YORK, TUESDAY_EVENING, inbound, kitchen, runtime

ORDER_TEXT = "2 cs roma tomatoes, 1 case lemons, 3 bunch cilantro for tomorrow"


def _latest_order(session) -> Order:
    return session.scalar(select(Order).order_by(Order.id.desc()))


def _chef_rows(session) -> list[OutboundMessage]:
    return list(session.scalars(
        select(OutboundMessage).where(OutboundMessage.purpose != "order_sheet").order_by(OutboundMessage.id)
    ))


def _sheet_rows(session) -> list[OutboundMessage]:
    return list(session.scalars(select(OutboundMessage).where(OutboundMessage.purpose == "order_sheet")))


def _reply(k, rt, text: str, minutes: int = 5, channel: str = "sms") -> InboundMessage:
    message = inbound(k, text, at=TUESDAY_EVENING + dt.timedelta(minutes=minutes), channel=channel)
    process_message(rt, message.id)
    return message


@pytest.fixture
def drafted(committed_pg, tmp_path):
    k = kitchen()
    rt = runtime(committed_pg, tmp_path)
    first = inbound(k, ORDER_TEXT)
    process_message(rt, first.id)
    return k, rt


@pytest.mark.postgres
def test_yes_confirms_and_writes_the_supplier_sheet_in_the_same_transaction(committed_pg, drafted) -> None:
    k, rt = drafted
    reply = _reply(k, rt, "yes")
    with committed_pg() as session:
        order = _latest_order(session)
        assert order.status == "confirmed"
        (sheet,) = _sheet_rows(session)
        assert sheet.recipient == "orders@greenleaf.example" and sheet.order_id == order.id
        assert session.get(InboundMessage, reply.id).status == "reply"
        told = _chef_rows(session)[-1]
        assert "order confirmed" in told.body and "Confirmed and sent to Greenleaf Produce" in told.body
        assert ("deliver", (sheet.id,)) in rt.queue.enqueued and ("deliver", (told.id,)) in rt.queue.enqueued


@pytest.mark.postgres
@pytest.mark.parametrize("word", ["ok", "👍", "sim", "oui", "sì", "sí", "dale", "vale"])
def test_confirmation_words_of_every_language_confirm(committed_pg, drafted, word: str) -> None:
    k, rt = drafted
    _reply(k, rt, word)
    with committed_pg() as session:
        assert _latest_order(session).status == "confirmed"


@pytest.mark.postgres
def test_reprocessing_the_yes_sends_one_sheet(committed_pg, drafted) -> None:
    k, rt = drafted
    reply = _reply(k, rt, "yes")
    process_message(rt, reply.id)
    with committed_pg() as session:
        assert len(_sheet_rows(session)) == 1
        assert len(_chef_rows(session)) == 2


@pytest.mark.postgres
def test_removing_a_line_is_confirmed_back(committed_pg, drafted) -> None:
    k, rt = drafted
    _reply(k, rt, "cancel lemons")
    with committed_pg() as session:
        order = _latest_order(session)
        assert [line.item.sku for line in order.lines] == ["TOM-ROMA-25", "CIL-BN"]
        assert order.status == "awaiting_chef"
        told = _chef_rows(session)[-1]
        assert told.body.startswith("Removed: LEMONS 115 CT.")
        assert "Total $67.25" in told.body


@pytest.mark.postgres
def test_changing_a_quantity_is_applied_and_confirmed_back(committed_pg, drafted) -> None:
    k, rt = drafted
    _reply(k, rt, "make the roma 3 cs")
    with committed_pg() as session:
        order = _latest_order(session)
        assert (order.lines[0].quantity, order.lines[0].unit) == (Decimal(3), "case")
        assert "Changed: TOMATO ROMA 5X6, now 3 cases." in _chef_rows(session)[-1].body


@pytest.mark.postgres
def test_adding_items_uses_the_parser_and_is_confirmed_back(committed_pg, drafted) -> None:
    k, rt = drafted
    _reply(k, rt, "add 2 cs limes")
    with committed_pg() as session:
        order = _latest_order(session)
        assert [line.item.sku for line in order.lines][-1] == "LIM-175"
        assert "Added: 2 cases LIMES 175 CT." in _chef_rows(session)[-1].body


@pytest.mark.postgres
def test_cancel_cancels_the_order_and_nothing_goes_to_the_supplier(committed_pg, drafted) -> None:
    k, rt = drafted
    _reply(k, rt, "cancela")
    with committed_pg() as session:
        assert _latest_order(session).status == "cancelled"
        assert _sheet_rows(session) == []
        assert "is cancelled" in _chef_rows(session)[-1].body


@pytest.mark.postgres
def test_number_answers_the_question_then_yes_confirms(committed_pg, tmp_path) -> None:
    k = kitchen()
    rt = runtime(committed_pg, tmp_path)
    process_message(rt, inbound(k, "2 cs roma, 5kg onions").id)
    with committed_pg() as session:
        question = _chef_rows(session)[-1].body
    # The options are numbered; pick the red onions by the number the chef was shown.
    number = re.search(r"(\d+)\) ONION RED", question).group(1)
    _reply(k, rt, number, minutes=3)
    _reply(k, rt, "yes", minutes=6)
    with committed_pg() as session:
        order = _latest_order(session)
        assert order.status == "confirmed"
        assert [line.item.sku for line in order.lines] == ["TOM-ROMA-25", "ONI-RED-25"]
        assert not any(line.needs_review for line in order.lines)


@pytest.mark.postgres
def test_yes_with_an_open_question_asks_again_instead_of_confirming(committed_pg, tmp_path) -> None:
    k = kitchen()
    rt = runtime(committed_pg, tmp_path)
    process_message(rt, inbound(k, "2 cs roma, 5kg onions").id)
    _reply(k, rt, "yes")
    with committed_pg() as session:
        assert _latest_order(session).status == "awaiting_chef"
        told = _chef_rows(session)[-1].body
        assert "Please answer the questions first." in told and "1) ONION" in told


@pytest.mark.postgres
def test_word_of_an_option_answers_the_question(committed_pg, tmp_path) -> None:
    k = kitchen()
    rt = runtime(committed_pg, tmp_path)
    process_message(rt, inbound(k, "2 cs roma, 5kg onions").id)
    _reply(k, rt, "red")
    with committed_pg() as session:
        assert _latest_order(session).lines[1].item.sku == "ONI-RED-25"


@pytest.mark.postgres
def test_unclear_reply_gets_a_reminder_and_changes_nothing(committed_pg, drafted) -> None:
    k, rt = drafted
    _reply(k, rt, "hmm")
    with committed_pg() as session:
        assert _latest_order(session).status == "awaiting_chef"
        assert "did not understand" in _chef_rows(session)[-1].body


@pytest.mark.postgres
def test_new_order_after_the_drafts_cutoff_is_a_new_order_not_a_reply(committed_pg, drafted) -> None:
    k, rt = drafted
    next_evening = dt.datetime(2026, 11, 25, 21, 0, tzinfo=NEW_YORK)
    message = inbound(k, "1 case lemons", at=next_evening)
    process_message(rt, message.id)
    with committed_pg() as session:
        assert session.get(InboundMessage, message.id).status == "awaiting_chef"
        assert session.scalar(select(Order).where(Order.source_message_id == message.id)) is not None


@pytest.mark.postgres
def test_auto_confirmed_order_edited_before_cutoff_sends_an_amended_sheet(committed_pg, tmp_path) -> None:
    k = kitchen(auto_confirm=True)
    rt = runtime(committed_pg, tmp_path)
    process_message(rt, inbound(k, ORDER_TEXT).id)
    _reply(k, rt, "cancel lemons")
    with committed_pg() as session:
        order = _latest_order(session)
        assert order.status == "confirmed"
        assert [line.item.sku for line in order.lines] == ["TOM-ROMA-25", "CIL-BN"]
        assert len(_sheet_rows(session)) == 2  # the first sheet and the amended one


@pytest.mark.postgres
def test_cancel_after_the_cutoff_of_a_confirmed_order_is_refused_politely(committed_pg, tmp_path) -> None:
    k = kitchen(auto_confirm=True)
    rt = runtime(committed_pg, tmp_path)
    process_message(rt, inbound(k, ORDER_TEXT).id)  # confirmed for Wednesday, cut-off Tuesday 23:00
    late = inbound(k, "cancel", at=dt.datetime(2026, 11, 24, 23, 30, tzinfo=NEW_YORK))
    process_message(rt, late.id)
    with committed_pg() as session:
        assert _latest_order(session).status == "confirmed"
        assert session.get(InboundMessage, late.id).status == "too_late"
        assert "can no longer be changed here" in _chef_rows(session)[-1].body


def test_end_to_end_in_process_on_sqlite(sqlite_sessionmaker, sqlite_engine, tmp_path) -> None:
    """Intake -> process -> confirmation sent to the local outbox -> "yes" -> confirmed + sheet rows."""
    from chat2order.config import Settings
    from chat2order.jobs import InProcessQueue
    from chat2order.ordering import intake
    from chat2order.runtime import Runtime

    k = kitchen()
    settings = Settings(var_dir=tmp_path, outbox_dir=tmp_path / "outbox")
    rt = Runtime(settings, engine=sqlite_engine, sessionmaker=sqlite_sessionmaker)
    assert isinstance(rt.queue, InProcessQueue)  # the embedded default: no REDIS_URL
    try:
        def text(body: str, sid: str, at: dt.datetime) -> None:
            intake.receive(rt, intake.Incoming(
                channel="sms", provider_id=sid, sender=k.contact.phone, recipient=k.supplier.inbound_phone,
                body=body, raw=body, received_at=at))
            assert rt.queue.join(timeout=60)

        text(ORDER_TEXT, "SM-order", TUESDAY_EVENING)
        with sqlite_sessionmaker() as session:
            order = _latest_order(session)
            assert order.status == "awaiting_chef"
            (confirmation,) = _chef_rows(session)
            assert confirmation.recipient == k.contact.phone
        files = [json.loads(p.read_text()) for p in (tmp_path / "outbox").rglob("*.json")]
        assert any("TOMATO ROMA 5X6" in f["body"] and f["to"] == k.contact.phone for f in files)

        text("Yes", "SM-yes", TUESDAY_EVENING + dt.timedelta(minutes=4))
        with sqlite_sessionmaker() as session:
            order = _latest_order(session)
            assert order.status in ("confirmed", "dispatched")
            assert len(_sheet_rows(session)) == 1
        assert rt.queue.failures == []
    finally:
        rt.close()


@pytest.mark.postgres
def test_plain_thanks_while_a_draft_waits_gets_no_reminder(committed_pg, drafted) -> None:
    k, rt = drafted
    _reply(k, rt, "thanks!")
    with committed_pg() as session:
        assert len(_chef_rows(session)) == 1
        assert _latest_order(session).status == "awaiting_chef"


@pytest.mark.postgres
def test_a_new_delivery_day_by_reply_moves_the_order_and_is_confirmed_back(committed_pg, drafted) -> None:
    k, rt = drafted
    _reply(k, rt, "make it friday please")
    with committed_pg() as session:
        order = _latest_order(session)
        assert (order.delivery_date, order.status) == (dt.date(2026, 11, 27), "awaiting_chef")
        told = _chef_rows(session)[-1].body
        assert told.startswith("Delivery day: Fri, Nov 27.\nGreenleaf Produce: updated order for Fri, Nov 27\n")


@pytest.mark.postgres
def test_a_day_the_supplier_does_not_deliver_moves_to_the_next_delivery_day_and_says_so(
    committed_pg, drafted
) -> None:
    k, rt = drafted
    _reply(k, rt, "deliver sunday instead")  # the kitchen's supplier delivers Monday to Saturday
    with committed_pg() as session:
        assert _latest_order(session).delivery_date == dt.date(2026, 11, 30)
        told = _chef_rows(session)[-1].body
        assert "No delivery on Sun, Nov 29; the next delivery is Mon, Nov 30." in told


@pytest.mark.postgres
def test_moving_an_auto_confirmed_order_sends_the_supplier_an_amended_sheet(committed_pg, tmp_path) -> None:
    k = kitchen(auto_confirm=True)
    rt = runtime(committed_pg, tmp_path)
    process_message(rt, inbound(k, ORDER_TEXT).id)
    _reply(k, rt, "make it friday")
    with committed_pg() as session:
        order = _latest_order(session)
        assert (order.status, order.delivery_date) == ("confirmed", dt.date(2026, 11, 27))
        first, amended = sorted(_sheet_rows(session), key=lambda row: row.id)
        assert first.status == "cancelled" and "Friday" in amended.body


@pytest.mark.postgres
def test_moving_a_confirmed_order_after_its_cutoff_is_refused_politely(committed_pg, tmp_path) -> None:
    k = kitchen(auto_confirm=True)
    rt = runtime(committed_pg, tmp_path)
    process_message(rt, inbound(k, ORDER_TEXT).id)  # confirmed for Wednesday, cut-off Tuesday 23:00
    late = inbound(k, "make it friday", at=dt.datetime(2026, 11, 24, 23, 30, tzinfo=NEW_YORK))
    process_message(rt, late.id)
    with committed_pg() as session:
        assert _latest_order(session).delivery_date == dt.date(2026, 11, 25)
        assert session.get(InboundMessage, late.id).status == "too_late"
