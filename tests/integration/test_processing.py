"""Processing a stored message on PostgreSQL: draft, confirmation to the chef, auto-confirm, idempotency."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from chat2order.errors import InvalidInput
from chat2order.ordering import orders
from chat2order.ordering.processing import process_message
from chat2order.tables import InboundMessage, Order, OutboundMessage
from tests import factories
from tests.helpers.ordering import NEW_YORK, TUESDAY_EVENING, inbound, kitchen, runtime, statements_run

pytestmark = pytest.mark.postgres

ORDER_TEXT = "2 cs roma tomatoes, 1 case lemons, 3 bunch cilantro for tomorrow"


def _order(session, message_id: int) -> Order:
    return session.scalar(select(Order).where(Order.source_message_id == message_id))


def _outbox(session, **where) -> list[OutboundMessage]:
    stmt = select(OutboundMessage).order_by(OutboundMessage.id)
    for name, value in where.items():
        stmt = stmt.where(getattr(OutboundMessage, name) == value)
    return list(session.scalars(stmt))


def test_order_message_becomes_a_draft_awaiting_the_chef(committed_pg, tmp_path) -> None:
    k = kitchen()
    message = inbound(k, ORDER_TEXT)
    rt = runtime(committed_pg, tmp_path)
    process_message(rt, message.id)
    with committed_pg() as session:
        order = _order(session, message.id)
        assert order.status == "awaiting_chef"
        assert [(line.item.sku, line.quantity, line.unit, line.unit_price) for line in order.lines] == [
            ("TOM-ROMA-25", Decimal(2), "case", Decimal("32.50")),
            ("LEM-115", Decimal(1), "case", Decimal("45.00")),
            ("CIL-BN", Decimal(3), "bunch", Decimal("0.75")),
        ]
        assert order.delivery_date == dt.date(2026, 11, 25)
        assert orders.order_total(order).amount == Decimal("112.25")
        assert session.get(InboundMessage, message.id).status == "awaiting_chef"


def test_confirmation_goes_back_to_the_chef_in_their_channel(committed_pg, tmp_path) -> None:
    k = kitchen()
    message = inbound(k, ORDER_TEXT)
    rt = runtime(committed_pg, tmp_path)
    process_message(rt, message.id)
    with committed_pg() as session:
        (row,) = _outbox(session)
        assert (row.channel, row.recipient, row.purpose) == ("sms", k.contact.phone, "confirmation")
        assert "TOMATO ROMA 5X6 (25 lb case) @ $32.50 = $65.00" in row.body
        assert "Total $112.25" in row.body
        assert "Wed, Nov 25" in row.body
        assert rt.queue.enqueued == [("deliver", (row.id,))]


def test_processing_a_message_twice_makes_one_order_and_one_confirmation(committed_pg, tmp_path) -> None:
    k = kitchen()
    message = inbound(k, ORDER_TEXT)
    rt = runtime(committed_pg, tmp_path)
    process_message(rt, message.id)
    process_message(rt, message.id)
    with committed_pg() as session:
        assert session.scalar(select(func.count()).select_from(Order)) == 1
        assert len(_outbox(session)) == 1


def test_failed_message_processed_again_does_not_send_twice(committed_pg, tmp_path) -> None:
    k = kitchen()
    message = inbound(k, ORDER_TEXT)
    rt = runtime(committed_pg, tmp_path)
    process_message(rt, message.id)
    with committed_pg() as session:  # as if a retry found the message marked failed after its commit
        session.get(InboundMessage, message.id).status = "failed"
        session.commit()
    process_message(rt, message.id)
    with committed_pg() as session:
        assert session.scalar(select(func.count()).select_from(Order)) == 1
        assert len(_outbox(session)) == 1


def test_message_that_is_not_an_order_creates_nothing(committed_pg, tmp_path) -> None:
    k = kitchen()
    message = inbound(k, "thanks, see you tomorrow")
    rt = runtime(committed_pg, tmp_path)
    process_message(rt, message.id)
    with committed_pg() as session:
        assert session.get(InboundMessage, message.id).status == "no_order"
        assert session.scalar(select(func.count()).select_from(Order)) == 0
        assert _outbox(session) == []
        assert session.get(InboundMessage, message.id).meta["parse"]["intent"] == "other"


def test_auto_confirm_supplier_confirms_a_confident_order_and_writes_the_sheet(committed_pg, tmp_path) -> None:
    k = kitchen(auto_confirm=True)
    message = inbound(k, ORDER_TEXT)
    rt = runtime(committed_pg, tmp_path)
    process_message(rt, message.id)
    with committed_pg() as session:
        order = _order(session, message.id)
        assert order.status == "confirmed" and order.confirmed_at is not None
        purposes = sorted(row.purpose for row in _outbox(session))
        assert purposes == ["confirmation", "order_sheet"]
        (chef,) = _outbox(session, purpose="confirmation")
        assert "Confirmed automatically" in chef.body and "11:00 PM" in chef.body
        assert sorted(ids[0] for _, ids in rt.queue.enqueued) == sorted(row.id for row in _outbox(session))


def test_flagged_line_waits_for_the_chef_even_with_auto_confirm(committed_pg, tmp_path) -> None:
    k = kitchen(auto_confirm=True)
    message = inbound(k, "2 cs roma, 5kg onions")
    rt = runtime(committed_pg, tmp_path)
    process_message(rt, message.id)
    with committed_pg() as session:
        order = _order(session, message.id)
        assert order.status == "awaiting_chef"
        (row,) = _outbox(session)
        assert "1) ONION" in row.body and "2) ONION" in row.body
        assert "$30.00" in row.body and "$38.00" in row.body


def test_order_after_the_cutoff_tells_the_chef_the_next_delivery_day(committed_pg, tmp_path) -> None:
    k = kitchen(auto_confirm=True)
    late = dt.datetime(2026, 11, 24, 23, 30, tzinfo=NEW_YORK)
    message = inbound(k, ORDER_TEXT, at=late)
    rt = runtime(committed_pg, tmp_path)
    process_message(rt, message.id)
    with committed_pg() as session:
        order = _order(session, message.id)
        assert order.delivery_date == dt.date(2026, 11, 26)
        assert order.status == "awaiting_chef"  # told before confirming, not confirmed behind their back
        (row,) = _outbox(session)
        assert "Too late for Wed, Nov 25" in row.body and "Thu, Nov 26" in row.body
        assert session.get(InboundMessage, message.id).meta["parse"]["requested_delivery_date"] == "2026-11-25"


def test_not_carried_item_is_a_line_without_product_and_is_said_so(committed_pg, tmp_path) -> None:
    k = kitchen()
    message = inbound(k, "2 cs roma and 1 tub burrata")
    rt = runtime(committed_pg, tmp_path)
    process_message(rt, message.id)
    with committed_pg() as session:
        order = _order(session, message.id)
        assert [line.catalog_item_id is None for line in order.lines] == [False, True]
        (row,) = _outbox(session)
        assert "Not carried: " in row.body and "burrata" in row.body


def test_opted_out_chef_gets_no_sms(committed_pg, tmp_path) -> None:
    k = kitchen(contact={"sms_opted_out": True})
    message = inbound(k, ORDER_TEXT)
    rt = runtime(committed_pg, tmp_path)
    process_message(rt, message.id)
    with committed_pg() as session:
        assert _order(session, message.id).status == "awaiting_chef"
        assert _outbox(session) == []


def test_email_order_is_confirmed_by_email_with_a_table(committed_pg, tmp_path) -> None:
    k = kitchen()
    message = inbound(k, f"Hi Joe,\n\n{ORDER_TEXT}\n\nThanks,\nSam", channel="email", subject="Order")
    rt = runtime(committed_pg, tmp_path)
    process_message(rt, message.id)
    with committed_pg() as session:
        (row,) = _outbox(session)
        assert row.channel == "email" and row.recipient == k.contact.email.lower()
        assert row.subject == "Re: Order"
        assert "<table" in row.html and "TOMATO ROMA 5X6" in row.html


def test_chef_writing_portuguese_is_answered_in_portuguese_with_euro_format(committed_pg, tmp_path) -> None:
    k = kitchen(locale="pt-PT", currency="EUR")
    message = inbound(k, "2 cx tomate roma e 1 cx limões para amanhã")
    rt = runtime(committed_pg, tmp_path)
    process_message(rt, message.id)
    with committed_pg() as session:
        (row,) = _outbox(session)
        assert "a sua encomenda" in row.body
        assert "32,50 €" in row.body and "caixas" in row.body


def test_failure_leaves_the_message_failed_with_the_reason_and_reraises(committed_pg, tmp_path) -> None:
    class Broken:
        def build(self, *args, **kwargs):
            raise RuntimeError("catalog index unavailable")

    k = kitchen()
    message = inbound(k, ORDER_TEXT)
    rt = runtime(committed_pg, tmp_path, contexts=Broken())
    with pytest.raises(RuntimeError):
        process_message(rt, message.id)
    with committed_pg() as session:
        stored = session.get(InboundMessage, message.id)
        assert stored.status == "failed" and "catalog index unavailable" in stored.error
        assert session.scalar(select(func.count()).select_from(Order)) == 0
    assert rt.queue.enqueued == []


def test_reply_overtaking_the_order_it_answers_waits_for_it(committed_pg, tmp_path) -> None:
    from chat2order.ordering.processing import EarlierMessagePending

    k = kitchen()
    order_message = inbound(k, ORDER_TEXT)
    yes = inbound(k, "yes", at=TUESDAY_EVENING + dt.timedelta(minutes=1))
    rt = runtime(committed_pg, tmp_path)
    with pytest.raises(EarlierMessagePending):
        process_message(rt, yes.id)  # a second worker picked up the "yes" first
    process_message(rt, order_message.id)
    process_message(rt, yes.id)  # the job's retry
    with committed_pg() as session:
        assert _order(session, order_message.id).status == "confirmed"


def test_an_unprocessed_message_older_than_the_ordering_window_does_not_hold_a_new_one(committed_pg, tmp_path) -> None:
    from chat2order.ordering.processing import ORDERING_WINDOW

    k = kitchen()
    inbound(k, "hello?", at=TUESDAY_EVENING - ORDERING_WINDOW - dt.timedelta(minutes=1))  # never processed
    message = inbound(k, ORDER_TEXT)
    process_message(runtime(committed_pg, tmp_path), message.id)
    with committed_pg() as session:
        assert session.get(InboundMessage, message.id).status == "awaiting_chef"


def test_a_new_order_is_read_and_stored_in_a_bounded_number_of_statements(committed_pg, tmp_path) -> None:
    k = kitchen()
    message = inbound(k, ORDER_TEXT)
    rt = runtime(committed_pg, tmp_path)
    with statements_run(committed_pg) as statements:
        process_message(rt, message.id)
    with committed_pg() as session:
        assert session.get(InboundMessage, message.id).status == "awaiting_chef"
    # The message locked with its checks, supplier, restaurant, contact and catalog version; the history
    # version (plus, on this cold runtime, the catalog for the index); the order's items; the message
    # update, the order, its lines and the confirmation. Before, the checks alone took eight.
    assert len(statements) <= 9, statements


def test_message_held_by_intake_is_not_processed(committed_pg, tmp_path) -> None:
    k = kitchen()
    message = inbound(k, ORDER_TEXT)
    with committed_pg() as session:
        session.get(InboundMessage, message.id).status = "needs_attention"
        session.commit()
    process_message(runtime(committed_pg, tmp_path), message.id)
    with committed_pg() as session:
        assert session.scalar(select(func.count()).select_from(Order)) == 0


def test_status_machine_refuses_to_skip_or_go_back(db) -> None:
    order = factories.OrderFactory(status="awaiting_chef")
    with pytest.raises(orders.InvalidTransition):
        orders.transition(order, "dispatched")
    orders.transition(order, "cancelled")
    with pytest.raises(orders.InvalidTransition):
        orders.transition(order, "confirmed")


def test_confirming_with_an_open_choice_is_refused(db) -> None:
    order = factories.OrderFactory(status="awaiting_chef")
    item = factories.CatalogItemFactory(supplier=order.supplier)
    other = factories.CatalogItemFactory(supplier=order.supplier)
    factories.OrderLineFactory(order=order, item=None, unit="case", needs_review=True,
                               candidates=[item.sku, other.sku], quantity=Decimal(2), unit_price=None)
    db.refresh(order)
    with pytest.raises(InvalidInput):
        orders.confirm(db, order)


@pytest.mark.parametrize(
    ("quantity", "unit", "pack", "sale_unit", "expected"),
    [
        (Decimal(50), "lb", "25 lb case", "case", Decimal(2)),
        (Decimal(2), "kg", "per lb", "lb", Decimal("4.40924524")),
        (Decimal(24), "each", "dozen", "dozen", Decimal(2)),
        (Decimal(3), None, "case", "case", Decimal(3)),
        (Decimal(3), "case", "per kg", "kg", None),
    ],
)
def test_quantity_converts_into_the_sale_unit_where_it_can(db, quantity, unit, pack, sale_unit, expected) -> None:
    item = factories.CatalogItemFactory(pack=pack, unit=sale_unit)
    got = orders.sale_quantity(quantity, unit, item)
    assert (got.quantize(Decimal("0.00000001")) if got is not None else None) == expected
