"""Shared set-up for the ordering service tests: a small produce supplier, a kitchen, a chef, a runtime."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from chat2order.config import Settings
from chat2order.jobs import RecordingQueue
from chat2order.runtime import Runtime
from chat2order.tables import Contact, InboundMessage, Restaurant, Supplier
from tests import factories

NEW_YORK = ZoneInfo("America/New_York")
# A Tuesday evening before the 23:00 cut-off.
TUESDAY_EVENING = dt.datetime(2026, 11, 24, 21, 0, tzinfo=NEW_YORK)

CATALOG = (
    ("TOM-ROMA-25", "TOMATO ROMA 5X6", "25 lb case", "case", "32.50"),
    ("TOM-CHERRY-10", "TOMATO CHERRY", "10 lb flat", "flat", "28.00"),
    ("ONI-YEL-50", "ONION YELLOW JUMBO 50#", "50 lb sack", "bag", "38.00"),
    ("ONI-RED-25", "ONION RED 25#", "25 lb sack", "bag", "30.00"),
    ("LEM-115", "LEMONS 115 CT", "case", "case", "45.00"),
    ("LIM-175", "LIMES 175 CT", "case", "case", "40.00"),
    ("AVO-48", "AVOCADO HASS 48 CT", "case", "case", "62.00"),
    ("CIL-BN", "CILANTRO", "bunch", "bunch", "0.75"),
)


@dataclass
class Kitchen:
    supplier: Supplier
    restaurant: Restaurant
    contact: Contact


def kitchen(*, auto_confirm: bool = False, locale: str = "en-US", currency: str = "USD",
            contact: dict[str, Any] | None = None) -> Kitchen:
    """A New York produce supplier with CATALOG, a restaurant buying from it, and its chef."""
    supplier = factories.SupplierFactory(
        name="Greenleaf Produce", locale=locale, currency=currency, timezone="America/New_York",
        cutoff_time=dt.time(23, 0), delivery_weekdays=[1, 2, 3, 4, 5, 6], auto_confirm=auto_confirm,
        order_email="orders@greenleaf.example", order_phone=None,
    )
    for sku, name, pack, unit, price in CATALOG:
        factories.CatalogItemFactory(supplier=supplier, sku=sku, name=name, pack=pack, unit=unit, price=Decimal(price))
    restaurant = factories.RestaurantFactory(locale=locale, timezone="America/New_York")
    chef = factories.ContactFactory(restaurant=restaurant, **{"locale": locale, "sms_opted_out": False, **(contact or {})})
    factories.AccountFactory(restaurant=restaurant, supplier=supplier)
    return Kitchen(supplier, restaurant, chef)


def inbound(k: Kitchen, body: str, *, at: dt.datetime = TUESDAY_EVENING, channel: str = "sms",
            subject: str | None = None) -> InboundMessage:
    sender = k.contact.email if channel == "email" else k.contact.phone
    return factories.InboundMessageFactory(
        channel=channel, sender=sender, recipient=k.supplier.inbound_phone, contact=k.contact,
        restaurant=k.restaurant, supplier=k.supplier, body=body, subject=subject, meta={},
        received_at=at.astimezone(dt.UTC), status="received",
    )


def runtime(maker: sessionmaker[Session], tmp_path: Path, **pieces: Any) -> Runtime:
    """A runtime around the test's database whose queue records instead of running jobs."""
    settings = Settings(var_dir=tmp_path, outbox_dir=tmp_path / "outbox")
    pieces.setdefault("queue", RecordingQueue())
    return Runtime(settings, engine=maker.kw["bind"], sessionmaker=maker, **pieces)


@contextlib.contextmanager
def statements_run(maker: sessionmaker[Session]) -> Iterator[list[str]]:
    """The SQL statements sent through `maker`'s engine inside the block, in order."""
    from sqlalchemy import event

    statements: list[str] = []
    engine = maker.kw["bind"]

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)
