"""Orders: a draft from a `ParsedOrder`, the chef's edits, and the status machine with its checks.

    draft -> awaiting_chef -> confirmed -> dispatched
      \\            \\            \\
       +------------+------------+--> cancelled

Lines point at catalog items; their unit price is the item's price per sale unit (Decimal). A line total
is known when the chef's unit converts into the item's sale unit (same unit, a measure of the same kind,
a dozen of each, or a measure inside a pack such as "25 lb case"); otherwise the price is left for the
supplier to confirm and the total says so. These helpers change rows but never commit: the calling
service owns the transaction.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from chat2order import metrics
from chat2order.errors import InvalidInput
from chat2order.parsing.model import ParsedLine, ParsedOrder
from chat2order.tables import CatalogItem, InboundMessage, Order, OrderLine, OutboundMessage, utcnow

TRANSITIONS: dict[str, frozenset[str]] = {
    "draft": frozenset({"awaiting_chef", "confirmed", "cancelled"}),
    "awaiting_chef": frozenset({"confirmed", "cancelled"}),
    "confirmed": frozenset({"dispatched", "cancelled"}),
    "dispatched": frozenset(),
    "cancelled": frozenset(),
}
EDITABLE = frozenset({"draft", "awaiting_chef", "confirmed"})

_MASS = {"kg": Decimal(1), "g": Decimal("0.001"), "lb": Decimal("0.45359237"), "oz": Decimal("0.028349523125")}
_VOLUME = {
    "l": Decimal(1),
    "ml": Decimal("0.001"),
    "gal": Decimal("3.785411784"),
    "qt": Decimal("0.946352946"),
    "pt": Decimal("0.473176473"),
    "fl_oz": Decimal("0.0295735295625"),
}
_COUNT = {"each": Decimal(1), "dozen": Decimal(12)}
_DIMENSIONS = (_MASS, _VOLUME, _COUNT)
# Pack contents as price lists write them: "25 lb case", "cx 6 kg", "4/1 GAL", "12/32 OZ", "2x5kg".
_PACK_UNITS = {
    "kg": "kg", "kgs": "kg", "g": "g", "gr": "g", "lb": "lb", "lbs": "lb", "#": "lb", "oz": "oz",
    "l": "l", "lt": "l", "ltr": "l", "ml": "ml", "gal": "gal", "qt": "qt", "doz": "dozen", "dz": "dozen",
    "dozen": "dozen", "ct": "each", "un": "each", "pcs": "each",
}
_PACK_RE = re.compile(
    r"(?:(\d+(?:[.,]\d+)?)\s*[x×/]\s*)?(\d+(?:[.,]\d+)?)\s*(kgs?|gr?|lbs?|#|oz|ltr|lt|l|ml|gal|qt|doz(?:en)?|dz|ct|un|pcs)\b",
    re.IGNORECASE,
)
_CENT = Decimal("0.01")


class InvalidTransition(InvalidInput):
    """The order cannot move to that status from the one it is in."""


def transition(order: Order, to: str, now: dt.datetime | None = None) -> None:
    """Move `order` to status `to`, or raise `InvalidTransition`."""
    if to not in TRANSITIONS.get(order.status, frozenset()):
        raise InvalidTransition(f"order {order.id}: cannot go from {order.status} to {to}")
    order.status = to
    metrics.ORDERS.labels(to).inc()
    now = now or dt.datetime.now(dt.UTC)
    if to == "confirmed":
        order.confirmed_at = now
    elif to == "dispatched":
        order.dispatched_at = now


# ---------------------------------------------------------------------------------------------------------
# Money.


def pack_content(pack: str) -> tuple[Decimal, str] | None:
    """What one pack holds, from the supplier's pack text: '25 lb case' -> (25, 'lb'); None if unreadable."""
    match = _PACK_RE.search(pack or "")
    if not match:
        return None
    count = Decimal(match.group(1).replace(",", ".")) if match.group(1) else Decimal(1)
    size = Decimal(match.group(2).replace(",", "."))
    return count * size, _PACK_UNITS[match.group(3).lower()]


def _convert(quantity: Decimal, unit: str, to: str) -> Decimal | None:
    for table in _DIMENSIONS:
        if unit in table and to in table:
            return quantity * table[unit] / table[to]
    return None


def sale_quantity(quantity: Decimal | None, unit: str | None, item: CatalogItem | None) -> Decimal | None:
    """The line's quantity in the item's sale units (what the unit price is for); None when unknown."""
    if quantity is None or item is None:
        return None
    if unit is None or unit == item.unit:
        return quantity
    direct = _convert(quantity, unit, item.unit)
    if direct is not None:
        return direct
    content = pack_content(item.pack)
    if content is not None:
        amount, content_unit = content
        inside = _convert(quantity, unit, content_unit)
        if inside is not None and amount > 0:
            return inside / amount
    return None


def line_total(line: OrderLine) -> Decimal | None:
    """Quantity in sale units times unit price, to the cent; None when it cannot be worked out."""
    if line.unit_price is None:
        return None
    qty = sale_quantity(line.quantity, line.unit, line.item)
    if qty is None:
        return None
    return (qty * line.unit_price).quantize(_CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Total:
    amount: Decimal
    complete: bool  # False: some line (not counting not-carried ones) has no price yet


def order_total(order: Order) -> Total:
    amount, complete = Decimal(0), True
    for line in order.lines:
        if line.catalog_item_id is None and not line.needs_review:
            continue  # not carried: nothing to pay
        value = line_total(line)
        if value is None:
            complete = False
        else:
            amount += value
    return Total(amount.quantize(_CENT), complete)


# ---------------------------------------------------------------------------------------------------------
# Questions.


def is_not_carried(line: OrderLine) -> bool:
    return line.catalog_item_id is None and not line.needs_review


def options(line: OrderLine) -> list[str]:
    """The SKUs the chef chooses between for a flagged line."""
    skus = list(dict.fromkeys(line.candidates or []))
    if line.item is not None and line.item.sku not in skus:
        skus.insert(0, line.item.sku)
    return skus


def blocks_confirmation(line: OrderLine) -> bool:
    """A flagged line a plain "yes" cannot settle: several products to choose from, or no quantity."""
    if not line.needs_review:
        return False
    return line.quantity is None or line.catalog_item_id is None or len(options(line)) > 1


def open_questions(order: Order) -> list[OrderLine]:
    return [line for line in order.lines if line.needs_review]


# ---------------------------------------------------------------------------------------------------------
# Building and editing.


def catalog_items(session: Session, supplier_id: int, skus: Iterable[str]) -> dict[str, CatalogItem]:
    """The supplier's catalog items with these SKUs, by SKU (one query; unknown SKUs are left out)."""
    wanted = sorted({s for s in skus if s})
    if not wanted:
        return {}
    rows = session.scalars(_catalog_items_statement(), {"supplier_id": supplier_id, "skus": wanted})
    return {item.sku: item for item in rows}


@functools.cache
def _catalog_items_statement() -> Select[tuple[CatalogItem]]:
    # Built once (building a statement costs more CPU than running this one); the SKU list is expanded per run.
    return select(CatalogItem).where(
        CatalogItem.supplier_id == bindparam("supplier_id"), CatalogItem.sku.in_(bindparam("skus", expanding=True))
    )


def _line_from_parse(parsed: ParsedLine, items: Mapping[str, CatalogItem], position: int) -> OrderLine:
    item = items.get(parsed.sku) if parsed.sku else None
    candidates = [sku for sku in parsed.candidates if sku in items]
    needs_review = parsed.needs_review or (parsed.sku is not None and item is None)
    if item is None and candidates and len(candidates) == 1 and parsed.quantity is not None:
        # One candidate only (an unsure quantity or a shaky match): show it, the chef's "yes" settles it.
        item = items[candidates[0]]
    return OrderLine(
        position=position,
        item=item,
        catalog_item_id=item.id if item is not None else None,
        quantity=parsed.quantity,
        unit=parsed.unit,
        text=parsed.text[:2000],
        confidence=float(parsed.confidence),
        needs_review=needs_review,
        candidates=candidates if needs_review else [],
        unit_price=item.price if item is not None else None,
    )


def parsed_skus(parsed: ParsedOrder) -> list[str]:
    """Every SKU a parsed order refers to: its lines' matches and their candidates."""
    return [line.sku for line in parsed.lines if line.sku] + [c for line in parsed.lines for c in line.candidates]


def draft_order(
    session: Session,
    *,
    message: InboundMessage,
    parsed: ParsedOrder,
    delivery_date: dt.date | None,
    locale: str,
    currency: str,
    items: Mapping[str, CatalogItem] | None = None,
    add: bool = True,
) -> Order:
    """A draft order for `message` with one line per parsed line (added to the session, not flushed).

    `items` are the catalog items of `parsed_skus(parsed)` when the caller already has them; `add=False`
    leaves the order out of the session, for `insert_new`."""
    assert message.restaurant_id is not None and message.supplier_id is not None
    if items is None:
        items = catalog_items(session, message.supplier_id, parsed_skus(parsed))
    order = Order(
        restaurant_id=message.restaurant_id,
        supplier_id=message.supplier_id,
        contact_id=message.contact_id,
        source_message_id=message.id,
        status="draft",
        channel=message.channel,
        locale=locale,
        placed_at=message.received_at,
        delivery_date=delivery_date,
        currency=currency,
    )
    order.lines = [_line_from_parse(line, items, position) for position, line in enumerate(parsed.lines)]
    if add:
        session.add(order)
    else:
        order.supplier = message.supplier  # what the confirmation reads; an order outside the session cannot load it
    return order


def insert_new(session: Session, order: Order) -> None:
    """Insert a new order and its lines, built by `draft_order(..., add=False)`, with two Core statements.

    The unit of work's bookkeeping for an order and its ~4 lines (change tracking, dependency sorting,
    identity map) cost about as much CPU as parsing the message; a new draft needs none of it. The objects
    stay outside the session: `order.id` is set, the lines keep their `item`, so the confirmation can be
    rendered from them, but they are not tracked: change them through a loaded `Order`, not these.
    """
    from chat2order.db import note_inserted

    if order.created_at is None:
        order.created_at = utcnow()  # the value the unit of work would have given it, kept on the object
    connection = session.connection()
    order.id = connection.execute(_order_insert(), _values(order)).scalar_one()
    for line in order.lines:
        line.order_id = order.id
    if order.lines:
        connection.execute(_line_insert(), [_values(line) for line in order.lines])
    note_inserted(session, order)


def _values(obj: Order | OrderLine) -> dict[str, Any]:
    """The row's column values; a column left unset (None) with a default is left out, so the default applies
    as it would in a flush. (`_line_from_parse` sets every defaulted line column: one executemany shape.)"""
    values = {}
    for column in obj.__table__.columns:
        if column.primary_key:
            continue
        value = getattr(obj, column.key)
        if value is None and (column.default is not None or column.server_default is not None):
            continue
        values[column.key] = value
    return values


@functools.cache
def _order_insert() -> Any:
    table = Order.__table__
    return table.insert().returning(table.c.id)


@functools.cache
def _line_insert() -> Any:
    return OrderLine.__table__.insert()


def _require_editable(order: Order) -> None:
    if order.status not in EDITABLE:
        raise InvalidTransition(f"order {order.id} is {order.status}; it can no longer be changed")


def choose(session: Session, order: Order, line: OrderLine, sku: str) -> None:
    """The chef picked `sku` for a flagged line."""
    _require_editable(order)
    item = catalog_items(session, order.supplier_id, [sku]).get(sku)
    if item is None:
        raise InvalidInput(f"{sku} is not in this supplier's catalog")
    line.item = item
    line.catalog_item_id = item.id
    line.unit_price = item.price
    line.candidates = []
    line.confidence = 1.0
    line.needs_review = line.quantity is None


def set_quantity(order: Order, line: OrderLine, quantity: Decimal, unit: str | None) -> None:
    """The chef changed a line's quantity (and maybe its unit)."""
    _require_editable(order)
    if quantity <= 0:
        raise InvalidInput("a quantity must be positive")
    line.quantity = quantity
    if unit is not None or line.unit is None:
        line.unit = unit
    if line.catalog_item_id is not None and len(options(line)) <= 1:
        line.needs_review = False
        line.confidence = 1.0


def remove_line(order: Order, line: OrderLine) -> None:
    _require_editable(order)
    order.lines.remove(line)


def add_lines(session: Session, order: Order, parsed_lines: Sequence[ParsedLine]) -> list[OrderLine]:
    """Append parsed lines (the "add 2 cs limes" of a reply) to the order."""
    _require_editable(order)
    skus = [line.sku for line in parsed_lines if line.sku] + [c for line in parsed_lines for c in line.candidates]
    items = catalog_items(session, order.supplier_id, skus)
    start = max((line.position for line in order.lines), default=-1) + 1
    added = [_line_from_parse(line, items, start + i) for i, line in enumerate(parsed_lines)]
    order.lines.extend(added)
    return added


def accept_single_options(order: Order) -> None:
    """A "yes" settles flagged lines that offered one product with a quantity."""
    for line in order.lines:
        if line.needs_review and not blocks_confirmation(line):
            line.needs_review = False
            line.candidates = []


def confirm(session: Session, order: Order, now: dt.datetime | None = None) -> list[OutboundMessage]:
    """Confirm the order and, in the same transaction, write the supplier's order sheet to the outbox.

    Returns the outbox rows written (the caller enqueues `deliver` for each after commit).
    """
    from chat2order.ordering import dispatch

    blocking = [line for line in order.lines if blocks_confirmation(line)]
    if blocking:
        raise InvalidInput(f"order {order.id} still has {len(blocking)} open question(s)")
    if not any(line.catalog_item_id is not None for line in order.lines):
        raise InvalidInput(f"order {order.id} has nothing the supplier carries")
    accept_single_options(order)
    transition(order, "confirmed", now)
    session.flush()
    return list(dispatch.queue_order_sheet(session, order))


def cancel(order: Order) -> None:
    transition(order, "cancelled")
