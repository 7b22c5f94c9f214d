"""The read side of the chat API: what a caller may see, scoped to their tenant.

A restaurant contact sees the suppliers their restaurant buys from (an `Account` row), their own thread
with each supplier (every message they sent on any channel and every message sent back to them, in time
order) and their restaurant's orders. A supplier's staff see their supplier's orders. Anything outside
that scope is `NotFound`, exactly like something that does not exist, so ids cannot be probed.
Nothing here writes or commits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session, selectinload

from chat2order.auth import Principal
from chat2order.errors import NotFound
from chat2order.tables import (
    Account,
    CatalogItem,
    Contact,
    InboundMessage,
    Order,
    OrderLine,
    OutboundMessage,
    Restaurant,
    Supplier,
)

# Orders the chef may still act on: shown as cards in the conversation.
OPEN_STATUSES = ("draft", "awaiting_chef")
# Outbound rows addressed to the supplier, not to the chef: never part of the chef's thread.
SUPPLIER_PURPOSES = ("order_sheet", "sheet", "supplier_sheet", "morning_sheet")
THREAD_LIMIT = 200
MAX_ID = 2**31 - 1  # ids are 32-bit integer columns


@dataclass(frozen=True)
class ThreadEntry:
    key: str
    direction: str  # "in" (the chef wrote) or "out" (chat2order answered)
    channel: str
    text: str
    at: dt.datetime
    status: str
    order_id: int | None


def suppliers_for(session: Session, principal: Principal) -> list[Supplier]:
    if principal.is_contact:
        stmt = (
            select(Supplier)
            .join(Account, Account.supplier_id == Supplier.id)
            .where(Account.restaurant_id == principal.restaurant_id)
            .order_by(Supplier.name)
        )
        return list(session.scalars(stmt))
    supplier = session.get(Supplier, principal.supplier_id)
    return [supplier] if supplier is not None else []


def supplier_for(session: Session, principal: Principal, slug: str) -> Supplier:
    """The supplier with this slug if the caller may talk to it (or is it), else NotFound."""
    if "\x00" in slug:
        raise NotFound("no such supplier")  # no slug holds NUL, and PostgreSQL refuses it in a query
    stmt = select(Supplier).where(Supplier.slug == slug)
    if principal.is_contact:
        stmt = stmt.join(Account, Account.supplier_id == Supplier.id).where(
            Account.restaurant_id == principal.restaurant_id
        )
    else:
        stmt = stmt.where(Supplier.id == principal.supplier_id)
    supplier = session.scalar(stmt)
    if supplier is None:
        raise NotFound("no such supplier")
    return supplier


def display_name(session: Session, principal: Principal) -> tuple[str, Restaurant | None]:
    if principal.is_contact:
        contact = session.get(Contact, principal.contact_id)
        restaurant = session.get(Restaurant, principal.restaurant_id)
        return (contact.name if contact else ""), restaurant
    supplier = session.get(Supplier, principal.supplier_id)
    return (supplier.name if supplier else ""), None


def _contact_inbound(principal: Principal, supplier_id: int) -> Select[tuple[int]]:
    return select(InboundMessage.id).where(
        InboundMessage.contact_id == principal.contact_id, InboundMessage.supplier_id == supplier_id
    )


def thread(
    session: Session, principal: Principal, supplier: Supplier, limit: int = THREAD_LIMIT
) -> list[ThreadEntry]:
    """The contact's messages with one supplier, both ways, oldest first (the latest `limit` of them)."""
    if not principal.is_contact:
        raise NotFound("supplier staff have no chef thread")
    inbound = session.scalars(
        select(InboundMessage)
        .where(InboundMessage.contact_id == principal.contact_id, InboundMessage.supplier_id == supplier.id)
        .order_by(InboundMessage.received_at.desc(), InboundMessage.id.desc())
        .limit(limit)
    ).all()
    orders_of_contact = select(Order.id).where(
        Order.restaurant_id == principal.restaurant_id,
        Order.supplier_id == supplier.id,
        or_(
            Order.contact_id == principal.contact_id,
            Order.source_message_id.in_(_contact_inbound(principal, supplier.id)),
        ),
    )
    outbound = session.scalars(
        select(OutboundMessage)
        .where(
            or_(
                OutboundMessage.inbound_message_id.in_(_contact_inbound(principal, supplier.id)),
                OutboundMessage.order_id.in_(orders_of_contact),
            ),
            OutboundMessage.purpose.not_in(SUPPLIER_PURPOSES),
            # A copy sent to the supplier's own address is theirs, not the chef's.
            OutboundMessage.recipient.not_in(_supplier_addresses(supplier)),
        )
        .order_by(OutboundMessage.created_at.desc(), OutboundMessage.id.desc())
        .limit(limit)
    ).all()
    order_of = _orders_of(session, [m.id for m in inbound])
    entries = [
        ThreadEntry(f"in-{m.id}", "in", m.channel, m.body, aware(m.received_at), m.status, order_of.get(m.id))
        for m in inbound
    ] + [
        ThreadEntry(f"out-{m.id}", "out", m.channel, m.body, aware(m.created_at), m.status, m.order_id)
        for m in outbound
    ]
    entries.sort(key=lambda e: (e.at, e.direction == "out"))
    return entries[-limit:]


def _supplier_addresses(supplier: Supplier) -> list[str]:
    return [a for a in (supplier.order_email, supplier.order_phone, supplier.inbound_email) if a] or ["\x00"]


def _orders_of(session: Session, message_ids: Sequence[int]) -> dict[int, int]:
    """Which order each of these inbound messages started (one query for the whole thread)."""
    if not message_ids:
        return {}
    rows = session.execute(
        select(Order.source_message_id, Order.id).where(Order.source_message_id.in_(list(message_ids)))
    )
    return {message_id: order_id for message_id, order_id in rows if message_id is not None}


def aware(value: dt.datetime) -> dt.datetime:
    # SQLite hands back naive datetimes; they are stored in UTC.
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def contact_address(session: Session, principal: Principal) -> str:
    """How the contact is written as a message sender: email, else phone, else their id."""
    contact = session.get(Contact, principal.contact_id)
    if contact is None:
        raise NotFound("no such contact")
    return contact.email or contact.phone or f"contact:{contact.id}"


def _orders_stmt(principal: Principal) -> Select[tuple[Order]]:
    stmt = select(Order).options(
        selectinload(Order.lines).selectinload(OrderLine.item),
        selectinload(Order.supplier),
        selectinload(Order.restaurant),
    )
    if principal.is_contact:
        return stmt.where(Order.restaurant_id == principal.restaurant_id)
    return stmt.where(Order.supplier_id == principal.supplier_id)


def list_orders(
    session: Session,
    principal: Principal,
    *,
    status: str | None = None,
    supplier_slug: str | None = None,
    limit: int = 50,
) -> list[Order]:
    stmt = _orders_stmt(principal)
    if status:
        stmt = stmt.where(Order.status == status)
    if supplier_slug:
        stmt = stmt.where(Order.supplier_id == supplier_for(session, principal, supplier_slug).id)
    return list(session.scalars(stmt.order_by(Order.placed_at.desc(), Order.id.desc()).limit(limit)))


def thread_orders(
    session: Session, principal: Principal, supplier: Supplier, entries: Sequence[ThreadEntry]
) -> list[Order]:
    """The orders the thread talks about plus any still waiting for this restaurant, oldest first."""
    mentioned = {e.order_id for e in entries if e.order_id is not None}
    stmt = _orders_stmt(principal).where(
        Order.supplier_id == supplier.id,
        or_(Order.id.in_(sorted(mentioned)), Order.status.in_(OPEN_STATUSES)),
    )
    rows = session.scalars(stmt.order_by(Order.placed_at.desc(), Order.id.desc()).limit(50))
    return sorted(rows, key=lambda o: (aware(o.placed_at), o.id))


def get_order(session: Session, principal: Principal, order_id: int, *, for_update: bool = False) -> Order:
    """The order if it belongs to the caller's tenant, else NotFound (same answer as a missing id).

    `for_update` locks the order row (PostgreSQL) for a change that must not run twice at once.
    """
    if not 0 < order_id <= MAX_ID:
        raise NotFound("no such order")  # beyond the id column's range: no such row, and no query
    stmt = _orders_stmt(principal).where(Order.id == order_id)
    if for_update:
        stmt = stmt.with_for_update(of=Order)
    order = session.scalar(stmt)
    if order is None:
        raise NotFound("no such order")
    return order


def candidate_items(session: Session, orders: Sequence[Order]) -> dict[tuple[int, str], CatalogItem]:
    """The catalog rows behind every candidate SKU of these orders' lines, keyed by (supplier id, sku)."""
    wanted: dict[int, set[str]] = {}
    for order in orders:
        for line in order.lines:
            if line.candidates:
                wanted.setdefault(order.supplier_id, set()).update(str(sku) for sku in line.candidates)
    found: dict[tuple[int, str], CatalogItem] = {}
    for supplier_id, skus in wanted.items():
        rows = session.scalars(
            select(CatalogItem).where(
                CatalogItem.supplier_id == supplier_id, CatalogItem.sku.in_(sorted(skus))
            )
        )
        found.update({(supplier_id, row.sku): row for row in rows})
    return found


def event_visible(session: Session, principal: Principal, event: Mapping[str, Any]) -> bool:
    """Whether a live-update event (see `chat2order.live`) concerns something this caller may see."""
    kind, row_id = event.get("type"), event.get("id")
    if not isinstance(row_id, int):
        return False
    if kind == "order":
        return (
            session.scalar(_orders_stmt(principal).with_only_columns(Order.id).where(Order.id == row_id))
            is not None
        )
    if kind == "inbound":
        message = session.get(InboundMessage, row_id)
        if message is None:
            return False
        if principal.is_contact:
            return message.contact_id == principal.contact_id
        return message.supplier_id == principal.supplier_id
    if kind == "outbound":
        out = session.get(OutboundMessage, row_id)
        if out is None:
            return False
        if out.order_id is not None:
            order = session.get(Order, out.order_id)
            if order is not None:
                return (
                    order.restaurant_id == principal.restaurant_id
                    if principal.is_contact
                    else order.supplier_id == principal.supplier_id
                )
        if out.inbound_message_id is not None:
            message = session.get(InboundMessage, out.inbound_message_id)
            if message is not None:
                return (
                    message.contact_id == principal.contact_id
                    if principal.is_contact
                    else message.supplier_id == principal.supplier_id
                )
    return False
