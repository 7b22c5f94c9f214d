"""The parser's context from the database: the supplier's catalog index (cached) and the kitchen's history.

One `ContextBuilder` per process. It keeps one `CatalogIndex` per supplier, keyed by the supplier's
`catalog_version` (a counter the database bumps on any change to its catalog items, migration 0002), so a
catalog import is picked up by the next message without any signal, and an unchanged catalog is never
re-indexed; the processing job reads that counter with the message, so checking costs nothing. Reads
only; never commits.
"""

from __future__ import annotations

import datetime as dt
import functools
import threading
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.orm import Session, selectinload

from chat2order.errors import NotFound
from chat2order.parsing.index import CatalogIndex
from chat2order.parsing.model import CatalogEntry, ParseContext, PastLine, PastOrder
from chat2order.tables import CatalogItem, Order, OrderLine, Restaurant, Supplier

HISTORY_STATUSES = ("confirmed", "dispatched")
HISTORY_LIMIT = 60  # most recent orders read as history: enough for "the usual", bounded for speed
HISTORY_CACHE_SIZE = 4096  # kitchen-supplier histories kept (first in, first out)


def _aware(value: dt.datetime) -> dt.datetime:
    # SQLite hands back naive datetimes for timezone-aware columns; they are stored in UTC.
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


# The per-message queries are built once with bound parameters: building a SQLAlchemy statement costs more
# CPU than running a small one.


@functools.cache
def _catalog_version_statement() -> Select[tuple[int]]:
    return select(Supplier.catalog_version).where(Supplier.id == bindparam("supplier_id"))


def _history_where() -> tuple[Any, ...]:
    return (
        Order.restaurant_id == bindparam("restaurant_id"),
        Order.supplier_id == bindparam("supplier_id"),
        Order.status.in_(HISTORY_STATUSES),
        Order.placed_at < bindparam("before", type_=Order.placed_at.type),
    )


@functools.cache
def _history_version_statement() -> Select[Any]:
    return (
        select(
            func.count(func.distinct(Order.id)),
            func.max(Order.id),
            func.count(OrderLine.id),
            func.max(OrderLine.id),
            func.sum(OrderLine.quantity),
            func.sum(OrderLine.catalog_item_id),
        )
        .select_from(Order)
        .outerjoin(OrderLine, OrderLine.order_id == Order.id)
        .where(*_history_where())
    )


class ContextBuilder:
    """Builds `ParseContext`s; caches one catalog index per supplier and catalog version."""

    def __init__(self) -> None:
        self._indexes: dict[int, tuple[int | None, CatalogIndex]] = {}
        self._lock = threading.Lock()
        # (restaurant, supplier, zone) -> (history version, history)
        self._histories: dict[tuple[int, int, str], tuple[tuple[Any, ...], tuple[PastOrder, ...]]] = {}

    def _version(self, session: Session, supplier_id: int) -> int | None:
        # Read from the database, not from a Supplier the session may hold from before the catalog changed.
        return session.scalar(_catalog_version_statement(), {"supplier_id": supplier_id})

    def index_for(self, session: Session, supplier_id: int, catalog_version: int | None = None) -> CatalogIndex:
        """The supplier's catalog index, rebuilt only when its catalog changed.

        `catalog_version`: the supplier's `catalog_version` as just read from the database in this
        transaction, when the caller has it (saves the query)."""
        version = catalog_version if catalog_version is not None else self._version(session, supplier_id)
        cached = self._indexes.get(supplier_id)
        if cached is not None and cached[0] == version:
            return cached[1]
        supplier = session.get(Supplier, supplier_id)
        if supplier is None:
            raise NotFound(f"supplier {supplier_id} not found")
        items = session.scalars(
            select(CatalogItem)
            .where(CatalogItem.supplier_id == supplier_id, CatalogItem.active.is_(True))
            .order_by(CatalogItem.id)
        ).all()
        entries = [CatalogEntry(i.sku, i.name, i.pack or "", i.unit, i.price) for i in items]
        index = CatalogIndex.build(entries, language=supplier.locale)
        with self._lock:
            self._indexes[supplier_id] = (version, index)
        return index

    def invalidate(self, supplier_id: int | None = None) -> None:
        """Forget cached indexes and histories (all, or one supplier's); the next message rebuilds them."""
        with self._lock:
            if supplier_id is None:
                self._indexes.clear()
                self._histories.clear()
            else:
                self._indexes.pop(supplier_id, None)
                for key in [k for k in self._histories if k[1] == supplier_id]:
                    self._histories.pop(key, None)

    def history(
        self, session: Session, *, restaurant_id: int, supplier_id: int, before: dt.datetime, zone: str
    ) -> tuple[PastOrder, ...]:
        """The restaurant's confirmed/dispatched orders with the supplier placed before `before`, oldest
        first, with `placed_at` in the restaurant's local time (so "last friday" is its friday).

        Cached per restaurant, supplier and zone under a version read by one aggregate query (how many
        orders and lines, their highest ids, the sum of the quantities): an unchanged history is not
        loaded again, and the same tuple is handed out, so the parser's history profile is reused too."""
        params = {"restaurant_id": restaurant_id, "supplier_id": supplier_id, "before": before}
        version = tuple(session.execute(_history_version_statement(), params).one())
        key = (restaurant_id, supplier_id, zone)
        cached = self._histories.get(key)
        if cached is not None and cached[0] == version:
            return cached[1]
        history = self._load_history(session, params, zone)
        with self._lock:
            if len(self._histories) >= HISTORY_CACHE_SIZE:
                self._histories.pop(next(iter(self._histories)), None)
            self._histories[key] = (version, history)
        return history

    def _load_history(self, session: Session, params: dict[str, Any], zone: str) -> tuple[PastOrder, ...]:
        orders = session.scalars(
            select(Order)
            .where(*_history_where())
            .options(selectinload(Order.lines).selectinload(OrderLine.item))
            .order_by(Order.placed_at.desc())
            .limit(HISTORY_LIMIT),
            params,
        ).all()
        tz = ZoneInfo(zone)
        out: list[PastOrder] = []
        for order in reversed(orders):
            lines = tuple(
                PastLine(line.item.sku, Decimal(line.quantity), line.unit)
                for line in order.lines
                if line.item is not None and line.quantity is not None
            )
            if lines:
                out.append(PastOrder(_aware(order.placed_at).astimezone(tz), lines))
        return tuple(out)

    def build(
        self,
        session: Session,
        *,
        restaurant_id: int | None,
        supplier_id: int,
        received_at: dt.datetime,
        channel: str,
        catalog_version: int | None = None,
    ) -> ParseContext:
        """Everything `parse` needs for one message from this restaurant to this supplier
        (`catalog_version` as for `index_for`)."""
        supplier = session.get(Supplier, supplier_id)
        if supplier is None:
            raise NotFound(f"supplier {supplier_id} not found")
        restaurant = session.get(Restaurant, restaurant_id) if restaurant_id is not None else None
        zone = (restaurant.timezone if restaurant else None) or supplier.timezone or "UTC"
        local = _aware(received_at).astimezone(ZoneInfo(zone))
        history: tuple[PastOrder, ...] = ()
        if restaurant is not None:
            history = self.history(
                session, restaurant_id=restaurant.id, supplier_id=supplier_id, before=local, zone=zone
            )
        locale = (restaurant.locale if restaurant else None) or supplier.locale or "en-US"
        return ParseContext(
            index=self.index_for(session, supplier_id, catalog_version),
            history=history,
            locale=locale,
            received_at=local,
            channel=channel,
        )
