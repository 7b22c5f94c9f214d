"""The transactional outbox: rows written in the caller's transaction, idempotent by key, sent after commit."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from chat2order.errors import InvalidInput
from chat2order.jobs import RecordingQueue
from chat2order.notify import SMS_MAX_CHARS, Attachment
from chat2order.ordering import outbox
from chat2order.tables import OutboundMessage
from tests import factories as f


def _add(session: Session, **changes: Any) -> OutboundMessage:
    fields: dict[str, Any] = {"channel": "sms", "recipient": "+15550001111", "body": "hello", "purpose": "notice",
                                  "idempotency_key": "k-1"}
    fields.update(changes)
    return outbox.add(session, **fields)


def test_add_writes_a_pending_row_without_committing(db: Session) -> None:
    row = _add(db)
    assert (row.id is not None, row.status, row.attempts) == (True, "pending", 0)
    db.rollback()
    assert db.scalar(select(func.count()).select_from(OutboundMessage)) == 0


def test_the_same_idempotency_key_returns_the_row_already_written(db: Session) -> None:
    first = _add(db)
    second = _add(db, body="a retried job wrote this")
    assert second.id == first.id
    assert db.scalar(select(func.count()).select_from(OutboundMessage)) == 1


def test_the_same_idempotency_key_returns_the_row_already_written_on_sqlite(sqlite_sessionmaker) -> None:  # type: ignore[no-untyped-def]
    with sqlite_sessionmaker() as session:
        first = _add(session)
        second = _add(session, body="a retried job wrote this")
        assert (second.id, second.body) == (first.id, "hello")
        assert session.scalar(select(func.count()).select_from(OutboundMessage)) == 1


def test_attachments_are_kept_in_the_row_and_read_back_as_bytes(db: Session) -> None:
    pdf = Attachment("C2O-1.pdf", "application/pdf", bytes(range(256)))
    row = _add(db, channel="email", recipient="s@example.com", attachments=[pdf])
    assert outbox.attachments_of(row) == (pdf,)


def test_an_sms_body_over_twilios_limit_is_cut_at_a_line_and_says_so(db: Session) -> None:
    body = "\n".join(f"{n} case item number {n}" for n in range(200))
    row = _add(db, body=body)
    assert len(row.body) <= SMS_MAX_CHARS
    assert row.body.endswith("more lines)")


def test_an_email_body_is_never_cut(db: Session) -> None:
    body = "line\n" * 1000
    assert _add(db, channel="email", recipient="s@example.com", body=body).body == body


def test_an_unknown_channel_is_refused(db: Session) -> None:
    with pytest.raises(InvalidInput):
        _add(db, channel="fax")


def test_a_row_can_point_at_its_order_and_inbound_message(db: Session) -> None:
    message = f.InboundMessageFactory()
    order = f.OrderFactory(source_message=message)
    row = _add(db, order_id=order.id, inbound_message_id=message.id)
    assert (row.order.id, row.inbound_message.id) == (order.id, message.id)


def test_enqueue_deliveries_enqueues_deliver_for_each_row(db: Session) -> None:
    rows = [_add(db, idempotency_key=f"k-{n}") for n in range(3)]
    queue = RecordingQueue()
    outbox.enqueue_deliveries(queue, rows)
    assert queue.ids() == [row.id for row in rows]


def test_a_queue_that_is_down_does_not_fail_the_caller(db: Session) -> None:
    class DownQueue:
        def enqueue(self, job_name: str, *ids: int) -> None:
            raise ConnectionError("redis is down")

    outbox.enqueue_deliveries(DownQueue(), [_add(db)])  # the relay republishes it later
