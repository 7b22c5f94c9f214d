"""The transactional outbox: write an outbound message in the caller's transaction, send it after commit.

`add` never commits. The caller commits the business change and its outbox rows together, then enqueues
`deliver` for each row id (`enqueue_deliveries`); `dispatch.relay_pending` republishes anything a crash
between commit and enqueue left behind. The `idempotency_key` makes writing the same message twice (a
retried job) return the existing row instead of a second one.
"""

from __future__ import annotations

import base64
import functools
import logging
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from chat2order.errors import InvalidInput
from chat2order.notify import SMS_MAX_CHARS, Attachment, fit_sms_body
from chat2order.tables import OutboundMessage

if TYPE_CHECKING:
    from chat2order.jobs import JobQueue

log = logging.getLogger(__name__)

CHANNELS = ("sms", "whatsapp", "email", "chat")
SMS_CHANNELS = ("sms", "whatsapp")


def _attachment_json(attachment: Attachment | dict[str, Any]) -> dict[str, Any]:
    if isinstance(attachment, dict):
        return attachment
    return {
        "filename": attachment.filename,
        "content_type": attachment.content_type,
        "data_b64": base64.b64encode(attachment.data).decode("ascii"),
    }


def attachments_of(row: OutboundMessage) -> tuple[Attachment, ...]:
    """The row's attachments as bytes (they are stored base64 in the row, so the row alone can be resent)."""
    return tuple(
        Attachment(
            filename=str(item["filename"]),
            content_type=str(item.get("content_type") or "application/octet-stream"),
            data=base64.b64decode(item.get("data_b64") or b""),
        )
        for item in row.attachments or ()
    )


def add(
    session: Session,
    *,
    channel: str,
    recipient: str,
    body: str,
    purpose: str,
    idempotency_key: str,
    subject: str | None = None,
    html: str | None = None,
    attachments: Iterable[Attachment | dict[str, Any]] = (),
    order_id: int | None = None,
    inbound_message_id: int | None = None,
) -> OutboundMessage:
    """Write one outbound message (status `pending`) in the caller's transaction; flushes, never commits.

    Same `idempotency_key` twice returns the row already written: one `INSERT ... ON CONFLICT DO NOTHING
    RETURNING` (PostgreSQL and SQLite), so the usual case of a new row is one round trip, and a concurrent
    writer of the same key is waited for by the unique index instead of failing the transaction.
    SMS/WhatsApp bodies longer than Twilio's 1,600 characters are cut at a line boundary (with a note of
    how many lines were left out).
    """
    if channel not in CHANNELS:
        raise InvalidInput(f"unknown outbound channel {channel!r}")
    if not recipient:
        raise InvalidInput(f"outbound {purpose} on {channel} has no recipient")
    if len(idempotency_key) > 128:
        raise InvalidInput("idempotency_key longer than 128 characters")
    if channel in SMS_CHANNELS and len(body) > SMS_MAX_CHARS:
        log.warning("outbound %s body of %d characters cut to fit one Twilio message", purpose, len(body))
        body = fit_sms_body(body)
    values: dict[str, Any] = {
        "channel": channel,
        "recipient": recipient,
        "subject": subject,
        "body": body,
        "html": html,
        "attachments": [_attachment_json(a) for a in attachments],
        "purpose": purpose,
        "idempotency_key": idempotency_key,
        "status": "pending",
        "attempts": 0,
        "order_id": order_id,
        "inbound_message_id": inbound_message_id,
    }
    # Pending rows first: the INSERT below bypasses the unit of work, and the rows it refers to must exist.
    session.flush()
    written = session.scalar(_insert_statement(session.get_bind().dialect.name), values)
    if written is not None:
        return written
    return session.execute(
        select(OutboundMessage).where(OutboundMessage.idempotency_key == idempotency_key)
    ).scalar_one()


@functools.cache
def _insert_statement(dialect: str) -> Any:
    """`INSERT ... ON CONFLICT (idempotency_key) DO NOTHING RETURNING *`, built once per dialect."""
    insert_ = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[dialect]
    return (
        insert_(OutboundMessage)
        .on_conflict_do_nothing(index_elements=[OutboundMessage.idempotency_key])
        .returning(OutboundMessage)
    )


def enqueue_deliveries(queue: JobQueue, rows: Sequence[OutboundMessage] | Sequence[int]) -> None:
    """Enqueue `deliver` for rows whose transaction has COMMITTED (call it after the commit, never before).

    A failure to enqueue is logged, not raised: the rows are safe in the database and the relay picks them up.
    """
    for row in rows:
        outbox_id = row if isinstance(row, int) else row.id
        try:
            queue.enqueue("deliver", outbox_id)
        except Exception:  # Redis down: the relay republishes pending rows
            log.warning("could not enqueue deliver(%s); the outbox relay will pick it up", outbox_id, exc_info=True)
