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


def _confirmed(supplier, restaurant, item, placed_at: dt.datetime, quantity: int = 1):  # type: ignore[no-untyped-def]
    order = f.OrderFactory(supplier=supplier, restaurant=restaurant, status="confirmed", placed_at=placed_at)
    f.OrderLineFactory(order=order, item=item, quantity=Decimal(quantity), unit="case")
    return order


def _loads(builder: ContextBuilder, monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Record, for every history load the builder makes, whether it read only the orders it did not hold."""
    calls: list[bool] = []
    load = ContextBuilder._load_orders

    def recording(session, params, known=None):  # type: ignore[no-untyped-def]
        calls.append(known is not None)
        return load(session, params, known)

    monkeypatch.setattr(builder, "_load_orders", recording)
    return calls


def test_orders_added_since_are_merged_into_the_cached_history(db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    supplier, restaurant, item, line = _setup(db)
    builder = ContextBuilder()
    _history(builder, db, supplier, restaurant)
    calls = _loads(builder, monkeypatch)
    # Placed out of id order: the merge sorts by time, as a full load does.
    newer = [_confirmed(supplier, restaurant, item, RECEIVED - DAY / 2, 4),
             _confirmed(supplier, restaurant, item, RECEIVED - 3 * DAY, 2)]
    db.flush()

    merged = _history(builder, db, supplier, restaurant)

    assert calls == [True]  # only what the cache did not hold was read
    assert merged == _history(ContextBuilder(), db, supplier, restaurant)
    assert [p.lines[0].quantity for p in merged] == [2, 3, 4]
    assert newer[1].id > newer[0].id > line.order_id  # the higher id was placed earlier


def test_an_order_leaving_the_history_loads_it_all_again(db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    supplier, restaurant, item, line = _setup(db)
    builder = ContextBuilder()
    _history(builder, db, supplier, restaurant)
    calls = _loads(builder, monkeypatch)
    line.order.status = "cancelled"
    _confirmed(supplier, restaurant, item, RECEIVED - DAY, 7)
    db.flush()

    history = _history(builder, db, supplier, restaurant)

    assert calls == [False]  # one order left, one joined: the version alone cannot tell, a full load
    assert [p.lines[0].quantity for p in history] == [7]


def test_an_older_order_confirmed_after_newer_ones_is_merged(db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    supplier, restaurant, item, _ = _setup(db)
    waiting = f.OrderFactory(supplier=supplier, restaurant=restaurant, status="awaiting_chef", placed_at=RECEIVED - DAY)
    f.OrderLineFactory(order=waiting, item=item, quantity=Decimal(4), unit="case")
    _confirmed(supplier, restaurant, item, RECEIVED - DAY / 2, 5)
    builder = ContextBuilder()
    assert [p.lines[0].quantity for p in _history(builder, db, supplier, restaurant)] == [3, 5]
    calls = _loads(builder, monkeypatch)
    waiting.status = "confirmed"  # the chef said yes after a later order was already confirmed
    db.flush()

    merged = _history(builder, db, supplier, restaurant)

    assert calls == [True]
    assert [p.lines[0].quantity for p in merged] == [3, 4, 5]


def test_an_edit_to_a_cached_order_next_to_a_new_one_is_seen(db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    supplier, restaurant, item, line = _setup(db)
    builder = ContextBuilder()
    _history(builder, db, supplier, restaurant)
    line.quantity = Decimal(9)
    _confirmed(supplier, restaurant, item, RECEIVED - DAY, 1)
    db.flush()

    assert [p.lines[0].quantity for p in _history(builder, db, supplier, restaurant)] == [9, 1]


def test_the_merged_history_keeps_the_most_recent_orders_only(db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("chat2order.ordering.context.HISTORY_LIMIT", 3)
    supplier, restaurant, item, _ = _setup(db)  # 2 days before
    for days, quantity in ((5, 1), (4, 2)):
        _confirmed(supplier, restaurant, item, RECEIVED - days * DAY, quantity)
    builder = ContextBuilder()
    assert [p.lines[0].quantity for p in _history(builder, db, supplier, restaurant)] == [1, 2, 3]
    calls = _loads(builder, monkeypatch)
    _confirmed(supplier, restaurant, item, RECEIVED - DAY, 5)
    db.flush()

    assert [p.lines[0].quantity for p in _history(builder, db, supplier, restaurant)] == [2, 3, 5]
    assert calls == [True]

    _confirmed(supplier, restaurant, item, RECEIVED - 6 * DAY, 6)  # older than the full window
    db.flush()

    assert [p.lines[0].quantity for p in _history(builder, db, supplier, restaurant)] == [2, 3, 5]
    assert calls == [True]  # the version covers the window only: an order older than it changes nothing


def test_a_first_order_joins_an_empty_history(db: Session) -> None:
    supplier, restaurant, item, _ = _setup(db)
    builder = ContextBuilder()
    assert _history(builder, db, supplier, restaurant, RECEIVED - 3 * DAY) == ()
    _confirmed(supplier, restaurant, item, RECEIVED - 4 * DAY, 2)
    db.flush()

    assert [p.lines[0].quantity for p in _history(builder, db, supplier, restaurant, RECEIVED - 3 * DAY)] == [2]
