"""Loading the demo data (`fixtures/demo/`) for the embedded default, idempotently.

The demo supplier is reachable by SMS at its `inbound_phone` (+15555550100) and by email at
`orders@<MAIL_DOMAIN>` (stored as the full address, completed with the mail domain at load time), and
sends its order sheets to its own `order_email`. The demo restaurant's chef texts from +15555550123.
Past orders are stored as `dispatched`, dated relative to the day of the first load (`days_ago` in
`history.jsonl`) so the history is always a few recent weeks; they are written once.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from chat2order.errors import InvalidInput
from chat2order.onboarding.catalog_csv import read_catalog
from chat2order.onboarding.catalog_import import ImportResult, apply_catalog
from chat2order.onboarding.contact_points import normalise_email, normalise_phone
from chat2order.onboarding.locales import normalise_locale
from chat2order.onboarding.suppliers import SupplierFields, save_supplier
from chat2order.tables import Account, CatalogItem, Contact, Order, OrderLine, Restaurant

HISTORY_NOTE = "demo history"


def default_demo_dir() -> Path:
    """`fixtures/demo` of the source checkout this package runs from."""
    return Path(__file__).resolve().parents[3] / "fixtures" / "demo"


@dataclass
class DemoLoaded:
    supplier_slug: str
    supplier_id: int
    restaurant_slug: str
    restaurant_id: int
    inbound_phone: str | None
    inbound_email: str | None
    order_email: str | None
    contacts: dict[str, str]  # name -> phone
    catalog: ImportResult
    orders_created: int
    orders_total: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "supplier": self.supplier_slug, "restaurant": self.restaurant_slug,
            "inbound_phone": self.inbound_phone, "inbound_email": self.inbound_email,
            "order_email": self.order_email, "contacts": self.contacts,
            "catalog": self.catalog.as_dict(), "orders_created": self.orders_created,
            "orders_total": self.orders_total,
        }


def load_demo(
    maker: sessionmaker[Session], *, mail_domain: str, directory: Path | None = None, today: dt.date | None = None
) -> DemoLoaded:
    """Create or refresh the demo supplier, catalog, restaurant, contacts and history (one transaction)."""
    directory = directory or default_demo_dir()
    spec_path = directory / "demo.json"
    if not spec_path.is_file():
        raise InvalidInput(f"{spec_path}: missing (demo fixtures not found; pass --dir)")
    spec = json.loads(spec_path.read_text(encoding="utf-8"))
    with maker.begin() as session:
        return _load(session, spec, directory, mail_domain, today)


def _load(session: Session, spec: dict[str, Any], directory: Path, mail_domain: str, today: dt.date | None) -> DemoLoaded:
    s = spec["supplier"]
    supplier = save_supplier(
        session,
        s["slug"],
        SupplierFields(
            name=s["name"], locale=s["locale"], currency=s["currency"], timezone=s["timezone"], cutoff=s["cutoff"],
            delivery_days=s["delivery_days"], order_email=s.get("order_email", ""),
            order_phone=s.get("order_phone", ""), inbound_phone=s.get("inbound_phone", ""),
            inbound_email=s.get("inbound_email", ""), auto_confirm=bool(s.get("auto_confirm", False)),
        ),
        mail_domain=mail_domain,
    )
    catalog = read_catalog(directory / spec["catalog"])
    if catalog.errors:
        raise InvalidInput("demo catalog has bad rows: " + "; ".join(str(e) for e in catalog.errors[:5]))
    imported = apply_catalog(session, supplier.id, catalog, result=ImportResult(supplier=supplier.slug, file=catalog.name))

    r = spec["restaurant"]
    restaurant = session.scalar(select(Restaurant).where(Restaurant.slug == r["slug"]))
    if restaurant is None:
        restaurant = Restaurant(slug=r["slug"])
        session.add(restaurant)
    restaurant.name, restaurant.locale, restaurant.timezone = r["name"], normalise_locale(r["locale"]), r["timezone"]
    session.flush()

    contacts: dict[str, str] = {}
    chef_id: int | None = None
    for c in spec["contacts"]:
        phone = normalise_phone(c["phone"], "US")
        contact = session.scalar(select(Contact).where(Contact.phone == phone))
        if contact is None:
            contact = Contact(phone=phone)
            session.add(contact)
        contact.restaurant_id, contact.name, contact.role = restaurant.id, c["name"], c.get("role", "chef")
        contact.email, contact.locale = normalise_email(c["email"]), restaurant.locale
        session.flush()
        contacts[contact.name] = phone
        if chef_id is None:
            chef_id = contact.id

    if session.scalar(select(Account.id).where(Account.restaurant_id == restaurant.id, Account.supplier_id == supplier.id)) is None:
        session.add(Account(restaurant_id=restaurant.id, supplier_id=supplier.id, customer_ref="DEMO-001"))

    history_filter = (Order.restaurant_id == restaurant.id, Order.supplier_id == supplier.id, Order.notes == HISTORY_NOTE)
    created = 0
    if not session.scalar(select(func.count()).select_from(Order).where(*history_filter)):
        created = _write_history(session, directory / spec["history"], restaurant, supplier.id, supplier.currency, chef_id, today)
    session.flush()
    total = session.scalar(select(func.count()).select_from(Order).where(*history_filter)) or 0
    return DemoLoaded(
        supplier_slug=supplier.slug, supplier_id=supplier.id, restaurant_slug=restaurant.slug,
        restaurant_id=restaurant.id, inbound_phone=supplier.inbound_phone, inbound_email=supplier.inbound_email,
        order_email=supplier.order_email, contacts=contacts, catalog=imported, orders_created=created,
        orders_total=total,
    )


def _write_history(
    session: Session, path: Path, restaurant: Restaurant, supplier_id: int, currency: str, contact_id: int | None,
    today: dt.date | None,
) -> int:
    zone = ZoneInfo(restaurant.timezone)
    today = today or dt.datetime.now(zone).date()
    items = {
        row.sku: (row.id, row.price)
        for row in session.execute(select(CatalogItem.sku, CatalogItem.id, CatalogItem.price).where(CatalogItem.supplier_id == supplier_id))
    }
    created = 0
    for line_number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not text.strip():
            continue
        record = json.loads(text)
        hour, minute = (int(part) for part in record["local_time"].split(":"))
        local = dt.datetime.combine(today - dt.timedelta(days=int(record["days_ago"])), dt.time(hour, minute), zone)
        placed = local.astimezone(dt.UTC)
        order = Order(
            restaurant_id=restaurant.id, supplier_id=supplier_id, contact_id=contact_id, status="dispatched",
            channel="sms", locale=restaurant.locale, placed_at=placed, confirmed_at=placed, dispatched_at=placed,
            delivery_date=local.date() + dt.timedelta(days=1), currency=currency, notes=HISTORY_NOTE,
        )
        for position, line in enumerate(record["lines"]):
            if line["sku"] not in items:
                raise InvalidInput(f"{path.name}, line {line_number}: sku {line['sku']!r} is not in the demo catalog")
            item_id, price = items[line["sku"]]
            order.lines.append(OrderLine(
                position=position, catalog_item_id=item_id, quantity=Decimal(str(line["quantity"])), unit=line["unit"],
                text="", confidence=1.0, needs_review=False, unit_price=price,
            ))
        session.add(order)
        created += 1
    return created
