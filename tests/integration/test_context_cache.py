"""ContextBuilder's history cache on PostgreSQL: one history tuple per kitchen and supplier while nothing
changed, a fresh one as soon as an order enters the history or its lines change."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from chat2order.ordering.context import ContextBuilder
from tests import factories as f

pytestmark = pytest.mark.postgres

RECEIVED = dt.datetime(2026, 1, 13, 2, 30, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def _setup(db: Session):  # type: ignore[no-untyped-def]
    supplier = f.SupplierFactory(locale="en-US", timezone="America/New_York")
    restaurant = f.RestaurantFactory(locale="en-US", timezone="America/New_York")
    item = f.CatalogItemFactory(supplier=supplier, sku="LIM-1", name="LIME 175CT", unit="case")
    order = f.OrderFactory(
        supplier=supplier, restaurant=restaurant, status="confirmed", placed_at=RECEIVED - 2 * DAY
    )
    line = f.OrderLineFactory(order=order, item=item, quantity=Decimal(3), unit="case")
    return supplier, restaurant, item, line


def _history(builder: ContextBuilder, db: Session, supplier, restaurant, at: dt.datetime = RECEIVED):  # type: ignore[no-untyped-def]
    return builder.build(
        db, restaurant_id=restaurant.id, supplier_id=supplier.id, received_at=at, channel="sms"
    ).history


def test_unchanged_history_is_the_same_tuple(db: Session) -> None:
    supplier, restaurant, _, _ = _setup(db)
    builder = ContextBuilder()
    first = _history(builder, db, supplier, restaurant)
    assert _history(builder, db, supplier, restaurant, RECEIVED + dt.timedelta(minutes=5)) is first


def test_newly_confirmed_order_joins_the_cached_history(db: Session) -> None:
    supplier, restaurant, item, _ = _setup(db)
    builder = ContextBuilder()
    assert len(_history(builder, db, supplier, restaurant)) == 1
    order = f.OrderFactory(
        supplier=supplier, restaurant=restaurant, status="awaiting_chef", placed_at=RECEIVED - DAY
    )
    f.OrderLineFactory(order=order, item=item, quantity=Decimal(1), unit="case")
    assert len(_history(builder, db, supplier, restaurant)) == 1
    order.status = "confirmed"
    db.flush()
    assert len(_history(builder, db, supplier, restaurant)) == 2


def test_edited_quantity_is_seen_through_the_cache(db: Session) -> None:
    supplier, restaurant, _, line = _setup(db)
    builder = ContextBuilder()
    _history(builder, db, supplier, restaurant)
    line.quantity = Decimal(5)
    db.flush()
    assert _history(builder, db, supplier, restaurant)[0].lines[0].quantity == Decimal(5)


def test_invalidate_forgets_the_suppliers_histories(db: Session) -> None:
    supplier, restaurant, _, _ = _setup(db)
    builder = ContextBuilder()
    first = _history(builder, db, supplier, restaurant)
    builder.invalidate(supplier.id)
    again = _history(builder, db, supplier, restaurant)
    assert again == first and again is not first
