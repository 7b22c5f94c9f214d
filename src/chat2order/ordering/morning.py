"""Which consolidated morning sheets are due, written to the outbox in the caller's transaction.

A supplier that set `morning_sheet_at` (local time, in its own timezone) and has an order email gets, once
per local day at or after that time, one email listing every restaurant's confirmed (or already dispatched)
orders for delivery that day. The outbox key `morning:<supplier>:<date>` makes the job safe to run every
minute on any number of workers. Days without orders send nothing.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from chat2order.notify import Attachment
from chat2order.ordering import outbox, sheets
from chat2order.ordering.sheet_pdf import render_morning_pdf
from chat2order.tables import Order, OrderLine, OutboundMessage, Supplier


def _local_now(now: dt.datetime, timezone: str) -> dt.datetime:
    try:
        return now.astimezone(ZoneInfo(timezone))
    except (ZoneInfoNotFoundError, ValueError):
        return now.astimezone(dt.UTC)


def morning_sheet(session: Session, supplier: Supplier, day: dt.date) -> sheets.MorningSheet | None:
    """The consolidated sheet of `supplier` for delivery on `day`; None when there is no order."""
    orders = session.scalars(
        select(Order)
        .where(Order.supplier_id == supplier.id, Order.delivery_date == day, Order.status.in_(("confirmed", "dispatched")))
        .options(selectinload(Order.lines).selectinload(OrderLine.item), selectinload(Order.restaurant))
        .order_by(Order.id)
    ).all()
    if not orders:
        return None
    return sheets.MorningSheet(
        supplier_name=supplier.name,
        delivery_date=day,
        currency=supplier.currency,
        locale=supplier.locale or "en-US",
        orders=tuple(sheets.sheet_for(session, order) for order in orders),
    )


def due_morning_sheets(session: Session, now: dt.datetime) -> list[OutboundMessage]:
    """Write the morning sheets due at `now` (UTC-aware) that are not written yet; flushes, never commits."""
    written: list[OutboundMessage] = []
    suppliers = session.scalars(
        select(Supplier).where(Supplier.morning_sheet_at.is_not(None), Supplier.order_email.is_not(None))
    ).all()
    for supplier in suppliers:
        local = _local_now(now, supplier.timezone)
        if supplier.morning_sheet_at is None or local.time() < supplier.morning_sheet_at:
            continue
        day = local.date()
        key = f"morning:{supplier.id}:{day.isoformat()}"
        already = session.execute(
            select(OutboundMessage.id).where(OutboundMessage.idempotency_key == key)
        ).scalar_one_or_none()
        if already is not None:
            continue
        sheet = morning_sheet(session, supplier, day)
        if sheet is None or not supplier.order_email:
            continue
        stem = f"orders-{supplier.slug}-{day.isoformat()}"
        written.append(
            outbox.add(
                session,
                channel="email",
                recipient=supplier.order_email,
                subject=sheets.morning_subject(sheet),
                body=sheets.render_morning_text(sheet),
                html=sheets.render_morning_html(sheet),
                attachments=[
                    Attachment(f"{stem}.csv", "text/csv", sheets.render_morning_csv(sheet)),
                    Attachment(f"{stem}.pdf", "application/pdf", render_morning_pdf(sheet)),
                ],
                purpose="morning_sheet",
                idempotency_key=key,
            )
        )
    return written
