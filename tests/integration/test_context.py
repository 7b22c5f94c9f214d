"""ContextBuilder on PostgreSQL: the catalog index cache and the kitchen's history as the parser sees it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from chat2order.ordering.context import ContextBuilder
from tests import factories as f

pytestmark = pytest.mark.postgres

RECEIVED = dt.datetime(2026, 1, 13, 2, 30, tzinfo=dt.UTC)  # 21:30 on the 12th in New York (EST)


def _kitchen(db: Session):  # type: ignore[no-untyped-def]
    supplier = f.SupplierFactory(locale="en-US", timezone="America/New_York")
    restaurant = f.RestaurantFactory(locale="en-US", timezone="America/New_York")
    return supplier, restaurant


def _order(supplier, restaurant, item, status: str, placed_at: dt.datetime, quantity: str = "3"):  # type: ignore[no-untyped-def]
    order = f.OrderFactory(supplier=supplier, restaurant=restaurant, status=status, placed_at=placed_at)
    f.OrderLineFactory(order=order, item=item, quantity=Decimal(quantity), unit="case")
    return order


def test_index_holds_the_suppliers_active_items(db: Session) -> None:
    supplier, _ = _kitchen(db)
    f.CatalogItemFactory(supplier=supplier, sku="LIM-1", name="LIME 175CT", pack="175 ct case", unit="case")
    f.CatalogItemFactory(supplier=supplier, sku="OLD-1", name="LIME 200CT", unit="case", active=False)
    f.CatalogItemFactory(sku="OTHER-1", name="LIME 110CT", unit="case")  # another supplier's
    index = ContextBuilder().index_for(db, supplier.id)
    assert [item.sku for item in index.items] == ["LIM-1"]


def test_index_is_cached_while_the_catalog_is_unchanged(db: Session) -> None:
    supplier, _ = _kitchen(db)
    f.CatalogItemFactory(supplier=supplier, name="LIME 175CT", unit="case")
    builder = ContextBuilder()
    assert builder.index_for(db, supplier.id) is builder.index_for(db, supplier.id)


def test_catalog_import_invalidates_the_cached_index(db: Session) -> None:
    supplier, _ = _kitchen(db)
    f.CatalogItemFactory(supplier=supplier, sku="LIM-1", name="LIME 175CT", unit="case")
    builder = ContextBuilder()
    first = builder.index_for(db, supplier.id)
    f.CatalogItemFactory(supplier=supplier, sku="AVO-1", name="AVOCADO HASS 48CT", unit="case")
    second = builder.index_for(db, supplier.id)
    assert second is not first and {i.sku for i in second.items} == {"LIM-1", "AVO-1"}


def _catalog_version(session: Session, supplier) -> int:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from chat2order.tables import Supplier

    return session.scalar(select(Supplier.catalog_version).where(Supplier.id == supplier.id))


def test_any_change_to_a_catalog_item_bumps_its_suppliers_catalog_version(db: Session) -> None:
    supplier, _ = _kitchen(db)
    other = f.SupplierFactory()
    versions = [_catalog_version(db, supplier)]
    item = f.CatalogItemFactory(supplier=supplier, sku="LIM-1", name="LIME 175CT", unit="case")
    versions.append(_catalog_version(db, supplier))
    item.price = item.price + 1
    db.flush()
    versions.append(_catalog_version(db, supplier))
    db.delete(item)
    db.flush()
    versions.append(_catalog_version(db, supplier))
    assert versions == sorted(set(versions)) and len(versions) == 4
    assert _catalog_version(db, other) == 0


def test_a_price_change_rebuilds_the_index_even_for_a_session_holding_the_supplier(db: Session) -> None:
    supplier, _ = _kitchen(db)
    item = f.CatalogItemFactory(supplier=supplier, sku="LIM-1", name="LIME 175CT", unit="case", price=Decimal(30))
    builder = ContextBuilder()
    first = builder.index_for(db, supplier.id)
    item.price = Decimal(32)
    db.flush()
    second = builder.index_for(db, supplier.id)
    assert second is not first and [i.entry.price for i in second.items] == [Decimal(32)]


def test_history_is_confirmed_and_dispatched_orders_before_the_message(db: Session) -> None:
    supplier, restaurant = _kitchen(db)
    item = f.CatalogItemFactory(supplier=supplier, sku="LIM-1", name="LIME 175CT", unit="case")
    day = dt.timedelta(days=1)
    _order(supplier, restaurant, item, "confirmed", RECEIVED - 3 * day)
    _order(supplier, restaurant, item, "dispatched", RECEIVED - 2 * day)
    _order(supplier, restaurant, item, "draft", RECEIVED - day)
    _order(supplier, restaurant, item, "cancelled", RECEIVED - day)
    _order(supplier, restaurant, item, "confirmed", RECEIVED + day)
    context = ContextBuilder().build(
        db, restaurant_id=restaurant.id, supplier_id=supplier.id, received_at=RECEIVED, channel="sms"
    )
    assert [o.placed_at.date() for o in context.history] == [
        (RECEIVED - 3 * day).astimezone(dt.timezone(dt.timedelta(hours=-5))).date(),
        (RECEIVED - 2 * day).astimezone(dt.timezone(dt.timedelta(hours=-5))).date(),
    ]
    assert context.history[0].lines[0].sku == "LIM-1" and context.history[0].lines[0].quantity == Decimal(3)


def test_history_leaves_out_other_restaurants_orders(db: Session) -> None:
    supplier, restaurant = _kitchen(db)
    item = f.CatalogItemFactory(supplier=supplier, name="LIME 175CT", unit="case")
    _order(supplier, f.RestaurantFactory(), item, "confirmed", RECEIVED - dt.timedelta(days=1))
    context = ContextBuilder().build(
        db, restaurant_id=restaurant.id, supplier_id=supplier.id, received_at=RECEIVED, channel="sms"
    )
    assert context.history == ()


def test_received_time_is_in_the_restaurants_local_time(db: Session) -> None:
    supplier, restaurant = _kitchen(db)
    context = ContextBuilder().build(
        db, restaurant_id=restaurant.id, supplier_id=supplier.id, received_at=RECEIVED, channel="whatsapp"
    )
    assert context.received_at is not None
    assert (context.received_at.date(), context.received_at.hour) == (dt.date(2026, 1, 12), 21)
    assert (context.locale, context.channel) == ("en-US", "whatsapp")


def test_context_parses_the_usual_from_the_database(db: Session) -> None:
    from chat2order.parsing import parse

    supplier, restaurant = _kitchen(db)
    item = f.CatalogItemFactory(supplier=supplier, sku="LIM-1", name="LIME 175CT", pack="175 ct case", unit="case")
    _order(supplier, restaurant, item, "confirmed", RECEIVED - dt.timedelta(days=2))
    context = ContextBuilder().build(
        db, restaurant_id=restaurant.id, supplier_id=supplier.id, received_at=RECEIVED, channel="sms"
    )
    parsed = parse("the usual pls", context)
    assert [(l.sku, l.quantity) for l in parsed.lines] == [("LIM-1", Decimal(3))]
