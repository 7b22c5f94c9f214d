"""Twilio status callbacks: record how far an outbound message got, never moving backwards.

Twilio posts `queued`, `sending`, `sent`, `delivered` (and `read` on WhatsApp), or a terminal `failed` /
`undelivered`, in any order and possibly more than once. The outbox row's status only ever moves forward:
queued < sending < sent < delivered, and failed/undeliverable are terminal. A callback for a SID we do not
know is logged and ignored. The `ob` query parameter we put in the StatusCallback URL (`outbox_id` here)
finds the row even when the worker died before storing the SID. Error 21610 (the recipient opted out)
flags the contact so nothing more is sent to that number.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING

from sqlalchemy import select

from chat2order.tables import Contact, OutboundMessage

if TYPE_CHECKING:
    from chat2order.runtime import Runtime

log = logging.getLogger(__name__)

# Twilio's MessageStatus values, mapped to outbox statuses.
TWILIO_TO_OUTBOX = {
    "accepted": "queued",
    "scheduled": "queued",
    "queued": "queued",
    "sending": "sending",
    "sent": "sent",
    "delivered": "delivered",
    "read": "delivered",
    "receiving": None,
    "received": None,
    "canceled": "failed",
    "failed": "failed",
    "undelivered": "undeliverable",
}
RANK = {"pending": 0, "queued": 1, "sending": 2, "sent": 3, "delivered": 4}
TERMINAL = frozenset({"failed", "undeliverable", "cancelled"})
OPTED_OUT_CODES = frozenset({"21610"})


def _moves_forward(current: str, new: str) -> bool:
    if current in TERMINAL:
        return False
    if new in TERMINAL:
        return True
    return RANK.get(new, -1) > RANK.get(current, -1)


def record(
    rt: Runtime,
    provider_id: str,
    status: str,
    error_code: str | int | None = None,
    *,
    outbox_id: int | None = None,
) -> str | None:
    """Apply one status callback; returns the row's status afterwards, or None when no row matches."""
    new = TWILIO_TO_OUTBOX.get((status or "").strip().lower())
    code = str(error_code) if error_code not in (None, "") else None
    with rt.sessionmaker() as session, session.begin():
        stmt = select(OutboundMessage).where(OutboundMessage.provider_id == provider_id)
        if session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        row = session.execute(stmt).scalars().first()
        if row is None and outbox_id is not None:
            candidate = session.get(OutboundMessage, outbox_id, with_for_update=True)
            # Only adopt the SID for a row that has none yet: a forged `ob` cannot rewrite another row's SID. A row
            # that has this very SID now had it recorded by the sending worker since the lookup above.
            if candidate is not None and candidate.provider_id == provider_id:
                row = candidate
            elif candidate is not None and candidate.provider_id is None and candidate.channel in ("sms", "whatsapp"):
                row = candidate
                row.provider_id = provider_id
        if row is None:
            log.warning("status callback for unknown message %s (%s) ignored", provider_id, status)
            return None
        if new is None:
            log.info("status callback %s for %s: unknown status %r ignored", provider_id, row.id, status)
            return row.status
        if code is not None and code not in (row.last_error or ""):
            row.last_error = f"twilio error {code} ({status})"
        if code in OPTED_OUT_CODES:
            new = "undeliverable"
            contact = session.execute(select(Contact).where(Contact.phone == row.recipient)).scalar_one_or_none()
            if contact is not None:
                contact.sms_opted_out = True
        if _moves_forward(row.status, new):
            previous = row.status
            row.status = new
            if new in ("sent", "delivered") and row.sent_at is None:
                row.sent_at = dt.datetime.now(dt.UTC)
                from chat2order.ordering.dispatch import mark_order_dispatched

                mark_order_dispatched(session, row, row.sent_at)
            if previous == "sending":
                row.next_attempt_at = None  # the send is settled: no lease left for a recovery to find
            log.info("outbox row %s: %s -> %s (callback)", row.id, previous, new)
        return row.status
