"""The supplier's outbox rows for an order: its sheet, an amended sheet, a cancellation.

All three run inside the caller's transaction (flush, never commit) and are re-exported by `dispatch`.
A sheet not sent yet is never sent once it is out of date: a newer revision or a cancellation marks it
`cancelled` (under a row lock, so a worker cannot be sending it at that moment unnoticed). When the supplier
may already have the old sheet (row `sending`, `sent` or `delivered`), they get an amended sheet or a
cancellation notice instead.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from chat2order.errors import InvalidInput
from chat2order.notify import Attachment
from chat2order.ordering import outbox, sheets
from chat2order.tables import Order, OutboundMessage

REACHED_SUPPLIER = frozenset({"sending", "sent", "delivered"})  # `sending`: may have reached them
NOT_YET_SENT = frozenset({"pending", "queued", "failed"})


def _sheet_rows(session: Session, order: Order) -> list[OutboundMessage]:
    stmt = select(OutboundMessage).where(OutboundMessage.order_id == order.id, OutboundMessage.purpose == "order_sheet")
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return list(session.execute(stmt.order_by(OutboundMessage.id)).scalars())


def _withdraw_unsent(rows: list[OutboundMessage], reason: str) -> None:
    for row in rows:
        if row.status in NOT_YET_SENT:
            row.status = "cancelled"
            row.next_attempt_at = None
            row.last_error = reason


def queue_order_sheet(session: Session, order: Order, *, revision: str = "") -> list[OutboundMessage]:
    """Write the supplier's order sheet rows (email with HTML, CSV and PDF; and/or SMS) in this transaction.

    Idempotent: rows are keyed by order (and `revision`, for the sheet of an order edited after confirmation;
    earlier sheets not sent yet are withdrawn, and the new one says "amended" if an earlier one may have
    reached the supplier). The caller commits, then enqueues `deliver` for the returned rows.
    """
    from chat2order.ordering.sheet_pdf import render_pdf

    supplier = order.supplier
    if not supplier.order_email and not supplier.order_phone:
        raise InvalidInput(f"supplier {supplier.slug} has neither an order email nor an order phone")
    suffix = f":{revision}" if revision else ""
    amended = False
    if revision:
        earlier = [row for row in _sheet_rows(session, order) if not row.idempotency_key.endswith(suffix)]
        amended = any(row.status in REACHED_SUPPLIER for row in earlier)
        _withdraw_unsent(earlier, f"superseded by revision {revision}")
    sheet = sheets.sheet_for(session, order, amended=amended)
    rows: list[OutboundMessage] = []
    if supplier.order_email:
        rows.append(
            outbox.add(
                session,
                channel="email",
                recipient=supplier.order_email,
                subject=sheets.subject(sheet),
                body=sheets.render_text(sheet),
                html=sheets.render_html(sheet),
                attachments=[
                    Attachment(f"{sheet.reference}.csv", "text/csv", sheets.render_csv(sheet)),
                    Attachment(f"{sheet.reference}.pdf", "application/pdf", render_pdf(sheet)),
                ],
                purpose="order_sheet",
                idempotency_key=f"order:{order.id}:sheet:email{suffix}",
                order_id=order.id,
            )
        )
    if supplier.order_phone:
        rows.append(
            outbox.add(
                session,
                channel="sms",
                recipient=supplier.order_phone,
                body=sheets.render_sms(sheet),
                purpose="order_sheet",
                idempotency_key=f"order:{order.id}:sheet:sms{suffix}",
                order_id=order.id,
            )
        )
    return rows


def queue_cancellation(session: Session, order: Order) -> list[OutboundMessage]:
    """The order was cancelled: withdraw its sheet if not sent yet; otherwise tell the supplier (returns rows)."""
    earlier = _sheet_rows(session, order)
    _withdraw_unsent(earlier, "order cancelled before dispatch")
    reached = [row for row in earlier if row.status in REACHED_SUPPLIER]
    written: list[OutboundMessage] = []
    for channel in sorted({row.channel for row in reached}):
        recipient = next(row.recipient for row in reached if row.channel == channel)
        f = sheets.Fmt(order.supplier.locale or "en-US", order.currency)
        text = sheets.cancellation_text(f, sheets.reference(order.id), order.restaurant.name)
        written.append(
            outbox.add(
                session,
                channel=channel,
                recipient=recipient,
                subject=text if channel == "email" else None,
                body=text,
                purpose="order_cancelled",
                idempotency_key=f"order:{order.id}:cancel:{channel}",
                order_id=order.id,
            )
        )
    return written
