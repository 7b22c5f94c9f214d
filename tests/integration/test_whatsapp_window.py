"""WhatsApp outside the 24-hour window: hold the message, open the window with a template, send on reply."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from chat2order.jobs import RecordingQueue
from chat2order.notify.twilio_sender import TwilioSender
from chat2order.ordering import dispatch
from chat2order.runtime import Runtime
from chat2order.tables import Order, OutboundMessage
from tests import factories as f
from tests.helpers.dispatch_runtime import make_runtime
from tests.helpers.twilio_standin import TwilioStandIn

pytestmark = pytest.mark.postgres

SUPPLIER = "+15550002222"
TEMPLATE_SID = "HX" + "0" * 32
TEMPLATE = "You have a new message from chat2order: {{1}}. Reply to this message to read it."
NOW = dt.datetime.now(dt.UTC)


@pytest.fixture
def twilio() -> Iterator[TwilioStandIn]:
    with TwilioStandIn(templates={TEMPLATE_SID: TEMPLATE}) as standin:
        yield standin


def _runtime(pg_engine: Engine, maker: sessionmaker[Session], tmp_path: Path, twilio: TwilioStandIn,
             template: str = TEMPLATE_SID) -> tuple[Runtime, RecordingQueue]:
    sender = TwilioSender(twilio.account_sid, twilio.auth_token, api_base=twilio.base_url)
    return make_runtime(pg_engine, maker, tmp_path / "outbox", sms=sender, whatsapp_template_sid=template)


def _sheet_row(**changes: Any) -> int:
    fields: dict[str, Any] = {
        "channel": "whatsapp", "recipient": SUPPLIER, "purpose": "order_sheet",
        "subject": "Order C2O-41 from Copper Pot, delivery Fri 4 Dec",
        "body": "Order C2O-41\n2 x Tomato roma 25 lb case\n5 kg Onion yellow",
        "order": f.OrderFactory(status="confirmed"),
    }
    fields.update(changes)
    return int(f.OutboundMessageFactory(**fields).id)


def _rows(maker: sessionmaker[Session]) -> dict[str, OutboundMessage]:
    with maker() as session:
        return {row.purpose: row for row in session.scalars(select(OutboundMessage))}


def _deliver_all(rt: Runtime, queue: RecordingQueue) -> None:
    """Run the deliveries the services enqueued, as a worker would (each id once)."""
    done: set[int] = set()
    while pending := [i for i in queue.ids("deliver") if i not in done]:
        for outbox_id in pending:
            done.add(outbox_id)
            dispatch.deliver(rt, outbox_id)


def _supplier_writes(when: dt.datetime) -> None:
    f.InboundMessageFactory(channel="whatsapp", sender=f"whatsapp:{SUPPLIER}", received_at=when)


def test_outside_the_window_the_message_is_held_and_one_template_asks_for_a_reply(
    committed_pg: sessionmaker[Session], pg_engine: Engine, tmp_path: Path, twilio: TwilioStandIn
) -> None:
    rt, queue = _runtime(pg_engine, committed_pg, tmp_path, twilio)
    _supplier_writes(NOW - dt.timedelta(days=3))
    first, second = _sheet_row(), _sheet_row(subject="Order C2O-42")

    dispatch.deliver(rt, first)
    dispatch.deliver(rt, second)
    _deliver_all(rt, queue)

    [opener] = twilio.messages
    assert (opener.to, opener.content_sid) == (f"whatsapp:{SUPPLIER}", TEMPLATE_SID)
    assert opener.content_variables == {"1": "Order C2O-41 from Copper Pot, delivery Fri 4 Dec"}
    assert opener.body == TEMPLATE.replace("{{1}}", "Order C2O-41 from Copper Pot, delivery Fri 4 Dec")
    with committed_pg() as session:
        statuses = dict(session.execute(select(OutboundMessage.id, OutboundMessage.status)).all())
    assert (statuses[first], statuses[second]) == ("held", "held")


def test_the_reply_releases_the_held_message_and_it_is_sent_once(
    committed_pg: sessionmaker[Session], pg_engine: Engine, tmp_path: Path, twilio: TwilioStandIn
) -> None:
    rt, queue = _runtime(pg_engine, committed_pg, tmp_path, twilio)
    sheet = _sheet_row()
    dispatch.deliver(rt, sheet)
    _deliver_all(rt, queue)
    assert dispatch.relay_pending(rt, older_than=dt.timedelta(0)) == 0  # nobody replied yet: still held

    _supplier_writes(dt.datetime.now(dt.UTC))
    assert dispatch.relay_pending(rt, older_than=dt.timedelta(0)) == 1
    _deliver_all(rt, queue)
    dispatch.relay_pending(rt, older_than=dt.timedelta(0))
    _deliver_all(rt, queue)

    opener, sent = twilio.messages
    assert opener.content_sid == TEMPLATE_SID
    assert (sent.content_sid, sent.body) == (None, "Order C2O-41\n2 x Tomato roma 25 lb case\n5 kg Onion yellow")
    rows = _rows(committed_pg)
    assert (rows["order_sheet"].status, rows["whatsapp_opener"].status) == ("sent", "sent")
    with committed_pg() as session:
        assert session.get(Order, rows["order_sheet"].order_id).status == "dispatched"  # type: ignore[union-attr]


def test_a_held_message_nobody_answers_becomes_undeliverable_after_the_hold(
    committed_pg: sessionmaker[Session], pg_engine: Engine, tmp_path: Path, twilio: TwilioStandIn
) -> None:
    rt, queue = _runtime(pg_engine, committed_pg, tmp_path, twilio)
    sheet = _sheet_row()
    dispatch.deliver(rt, sheet)
    _deliver_all(rt, queue)

    later = dt.datetime.now(dt.UTC) + dispatch.WHATSAPP_HOLD + dt.timedelta(minutes=1)
    dispatch.relay_pending(rt, now=later, older_than=dt.timedelta(0))

    row = _rows(committed_pg)["order_sheet"]
    assert (row.status, row.last_error) == ("undeliverable", "no reply to the WhatsApp template within 7 days")
    assert len(twilio.messages) == 1


def test_without_a_template_nothing_is_sent_outside_the_window(
    committed_pg: sessionmaker[Session], pg_engine: Engine, tmp_path: Path, twilio: TwilioStandIn
) -> None:
    rt, queue = _runtime(pg_engine, committed_pg, tmp_path, twilio, template="")
    sheet = _sheet_row()
    dispatch.deliver(rt, sheet)
    _deliver_all(rt, queue)

    row = _rows(committed_pg)["order_sheet"]
    assert row.status == "undeliverable" and "WHATSAPP_TEMPLATE_SID" in (row.last_error or "")
    assert twilio.messages == []


def test_an_opener_whose_template_was_removed_is_not_sent_free_form(
    committed_pg: sessionmaker[Session], pg_engine: Engine, tmp_path: Path, twilio: TwilioStandIn
) -> None:
    rt, _ = _runtime(pg_engine, committed_pg, tmp_path, twilio, template="")
    opener = _sheet_row(purpose=dispatch.OPENER, body="Order C2O-41")
    dispatch.deliver(rt, opener)
    assert twilio.messages == []
    assert _rows(committed_pg)[dispatch.OPENER].status == "undeliverable"


@pytest.mark.parametrize(
    "subject, body, expected",
    [
        (None, "\n\n  Order   C2O-7\tfor Friday\nsecond line", "Order C2O-7 for Friday"),
        ("x" * 300, "body", "x" * 199 + "…"),
    ],
)
def test_the_template_variable_is_one_short_line(subject: str | None, body: str, expected: str) -> None:
    row = OutboundMessage(subject=subject, body=body, purpose="order_sheet")
    assert dispatch.opener_text(row) == expected
    assert len(json.dumps(expected, ensure_ascii=False)) <= 255
