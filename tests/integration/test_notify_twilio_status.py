"""Twilio status callbacks (`delivery_status.record`): forward only, terminal wins, 21610 flags the contact."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from chat2order.ordering import delivery_status
from chat2order.runtime import Runtime
from chat2order.tables import Contact, Order, OutboundMessage
from tests import factories as f
from tests.helpers.dispatch_runtime import make_runtime

pytestmark = pytest.mark.postgres


@pytest.fixture
def rt(pg_engine: Engine, committed_pg: sessionmaker[Session], tmp_path: Path) -> Runtime:
    return make_runtime(pg_engine, committed_pg, tmp_path)[0]


def _sent_row(**changes: object) -> OutboundMessage:
    fields: dict[str, object] = {"channel": "sms", "recipient": "+15550001111", "status": "sent", "provider_id": "SM" + "a" * 32}
    fields.update(changes)
    return f.OutboundMessageFactory(**fields)


def _status(maker: sessionmaker[Session], outbox_id: int) -> str:
    with maker() as session:
        return session.get(OutboundMessage, outbox_id).status  # type: ignore[union-attr]


def test_delivered_moves_a_sent_row_forward(rt: Runtime, committed_pg: sessionmaker[Session]) -> None:
    row = _sent_row()
    assert delivery_status.record(rt, row.provider_id, "delivered") == "delivered"


def test_a_late_sent_callback_never_moves_a_delivered_row_back(rt: Runtime, committed_pg: sessionmaker[Session]) -> None:
    row = _sent_row(status="delivered")
    delivery_status.record(rt, row.provider_id, "sent")
    delivery_status.record(rt, row.provider_id, "queued")
    assert _status(committed_pg, row.id) == "delivered"


def test_undelivered_is_terminal(rt: Runtime, committed_pg: sessionmaker[Session]) -> None:
    row = _sent_row()
    delivery_status.record(rt, row.provider_id, "undelivered", "30003")
    delivery_status.record(rt, row.provider_id, "delivered")
    assert _status(committed_pg, row.id) == "undeliverable"


def test_a_callback_for_an_unknown_sid_is_ignored(rt: Runtime, committed_pg: sessionmaker[Session]) -> None:
    assert delivery_status.record(rt, "SM" + "0" * 32, "delivered") is None


def test_error_21610_marks_the_row_undeliverable_and_the_contact_opted_out(rt: Runtime,
                                                                         committed_pg: sessionmaker[Session]) -> None:
    contact = f.ContactFactory(phone="+15550002222")
    row = _sent_row(recipient="+15550002222")
    delivery_status.record(rt, row.provider_id, "failed", "21610")
    assert _status(committed_pg, row.id) == "undeliverable"
    with committed_pg() as session:
        assert session.get(Contact, contact.id).sms_opted_out is True  # type: ignore[union-attr]


def test_the_outbox_id_in_the_callback_url_finds_a_row_whose_sid_was_never_stored(
    rt: Runtime, committed_pg: sessionmaker[Session]
) -> None:
    order = f.OrderFactory(status="confirmed")
    row = _sent_row(status="sending", provider_id=None, purpose="order_sheet", order=order)
    assert delivery_status.record(rt, "SM" + "b" * 32, "sent", outbox_id=row.id) == "sent"
    with committed_pg() as session:
        stored = session.get(OutboundMessage, row.id)
        assert stored.provider_id == "SM" + "b" * 32  # type: ignore[union-attr]
        assert session.get(Order, order.id).status == "dispatched"  # type: ignore[union-attr]


def test_a_forged_outbox_id_cannot_rewrite_another_rows_sid(rt: Runtime, committed_pg: sessionmaker[Session]) -> None:
    row = _sent_row()
    assert delivery_status.record(rt, "SM" + "c" * 32, "failed", outbox_id=row.id) is None
    assert _status(committed_pg, row.id) == "sent"


def test_a_callback_racing_the_workers_sent_record_still_lands(
    rt: Runtime, pg_engine: Engine, committed_pg: sessionmaker[Session]
) -> None:
    # The callback looks the SID up and misses; the worker records the send (SID included) before the callback
    # reads the row by the outbox id of its URL. Found in the e2e flow: "delivered" was dropped as unknown.
    row = _sent_row(status="sending", provider_id=None)
    sid = "SM" + "d" * 32
    fired: list[bool] = []

    def worker_records_the_send(conn: object, cursor: object, statement: str, *args: object) -> None:
        if not fired and "outbound_messages.provider_id =" in statement:
            fired.append(True)
            with pg_engine.connect() as other, other.begin():
                other.execute(update(OutboundMessage).where(OutboundMessage.id == row.id)
                              .values(status="sent", provider_id=sid))

    event.listen(pg_engine, "after_cursor_execute", worker_records_the_send)
    try:
        assert delivery_status.record(rt, sid, "delivered", outbox_id=row.id) == "delivered"
    finally:
        event.remove(pg_engine, "after_cursor_execute", worker_records_the_send)
    assert fired and _status(committed_pg, row.id) == "delivered"


_SIDS = itertools.count(1)
LIFECYCLES = [
    (["queued", "sending", "sent", "delivered"], "delivered"),
    (["queued", "sending", "sent", "undelivered"], "undeliverable"),
    (["queued", "failed"], "failed"),
    (["accepted", "queued", "sent", "delivered", "read"], "delivered"),
]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=st.sampled_from(LIFECYCLES), data=st.data())
def test_shuffled_and_repeated_callbacks_end_in_the_final_status(
    rt: Runtime, committed_pg: sessionmaker[Session], case: tuple[list[str], str], data: st.DataObject
) -> None:
    statuses, final = case
    order = data.draw(st.permutations(statuses + data.draw(st.lists(st.sampled_from(statuses), max_size=3))))
    row = _sent_row(provider_id=f"SM{next(_SIDS):032d}")
    for status in order:
        delivery_status.record(rt, row.provider_id, status)
    assert _status(committed_pg, row.id) == final
