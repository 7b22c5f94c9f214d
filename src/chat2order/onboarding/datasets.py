"""Loading a benchmark-format dataset folder (FORMAT.md) into the store, idempotently.

Reads `suppliers.csv`, `restaurants.csv`, `catalogs/<supplier>.csv`, `orders.jsonl` (past orders, stored as
`dispatched` with their `placed_at`) and the restaurant/supplier pairs of `messages.jsonl` (to open
accounts). It never opens `gold.jsonl`. Slugs are the dataset ids, so loading twice changes nothing and
`load_dataset` returns the slug -> id maps the `predict` command needs.

Each restaurant gets one contact, the chef, so a dataset message can be attributed to it like a live one:
email `chef@<restaurant slug>.bench.invalid` and a fictional phone `+15559NNNNNN` derived from the slug
(stable across loads; see docs/onboarding.md).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from chat2order.errors import InvalidInput
from chat2order.onboarding.catalog_csv import read_catalog
from chat2order.onboarding.catalog_import import ImportResult, apply_catalog
from chat2order.onboarding.locales import LOCALE_TIMEZONES, default_timezone, normalise_locale
from chat2order.onboarding.progress import NoProgress, Progress
from chat2order.onboarding.suppliers import SupplierFields, save_supplier
from chat2order.tables import Account, CatalogItem, Contact, Order, OrderLine, Restaurant, Supplier

NEVER_READ = "gold.jsonl"  # the scorer's answers: a loader that read them would make the benchmark a lie
CONTACT_DOMAIN = "bench.invalid"


@dataclass
class LoadedDataset:
    """What a load did and the ids a caller (predict) needs, keyed by the dataset's ids."""

    path: Path
    suppliers: dict[str, int] = field(default_factory=dict)
    restaurants: dict[str, int] = field(default_factory=dict)
    contacts: dict[str, int] = field(default_factory=dict)  # restaurant slug -> its chef's contact id
    contact_phones: dict[str, str] = field(default_factory=dict)  # restaurant slug -> chef's phone
    contact_emails: dict[str, str] = field(default_factory=dict)  # restaurant slug -> chef's email
    catalogs: dict[str, ImportResult] = field(default_factory=dict)
    accounts_created: int = 0
    orders_created: int = 0
    orders_existing: int = 0
    lines_created: int = 0
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "suppliers": len(self.suppliers),
            "restaurants": len(self.restaurants),
            "contacts": len(self.contacts),
            "catalog_items": sum(r.rows for r in self.catalogs.values()),
            "catalogs": {slug: r.as_dict() for slug, r in self.catalogs.items()},
            "accounts_created": self.accounts_created,
            "orders_created": self.orders_created,
            "orders_existing": self.orders_existing,
            "lines_created": self.lines_created,
            "warnings": self.warnings,
        }


def _csv_rows(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        raise InvalidInput(f"{path}: missing (not a benchmark-format dataset folder? see FORMAT.md)")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return [{k.strip(): (v or "").strip() for k, v in row.items() if k} for row in csv.DictReader(handle)]


def _jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    if not path.is_file():
        return
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                try:
                    yield number, json.loads(line)
                except json.JSONDecodeError as exc:
                    raise InvalidInput(f"{path.name}, line {number}: not JSON ({exc.msg})") from None


def bench_phone(slug: str) -> str:
    """A fictional North American number for a dataset restaurant's chef, stable for a slug."""
    digest = int(hashlib.blake2b(slug.encode(), digest_size=8).hexdigest(), 16)
    return f"+15559{digest % 1_000_000:06d}"


def _timezone(locale: str) -> str:
    return LOCALE_TIMEZONES.get(locale) or default_timezone(locale)


def _utc_naive(value: dt.datetime) -> dt.datetime:
    # SQLite hands timestamps back naive (UTC); compare both databases' values the same way.
    return value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value


def load_dataset(
    target: Session | sessionmaker[Session], path: Path, *, progress: Progress | None = None
) -> LoadedDataset:
    """Load the dataset folder at `path`.

    With a sessionmaker the load is one transaction of its own (committed at the end, nothing written on
    error). With a Session it runs in the caller's transaction and only flushes; the caller commits.
    """
    path = Path(path)
    if not path.is_dir():
        raise InvalidInput(f"{path}: not a folder")
    if isinstance(target, Session):
        return _load(target, path, progress or NoProgress())
    with target.begin() as session:
        return _load(session, path, progress or NoProgress())


def _load(session: Session, path: Path, progress: Progress) -> LoadedDataset:
    loaded = LoadedDataset(path=path)
    try:
        _load_suppliers(session, path, loaded, progress)
        _load_restaurants(session, path, loaded)
        _load_accounts_and_orders(session, path, loaded, progress)
    finally:
        progress.close()
    session.flush()
    return loaded


def _load_suppliers(session: Session, path: Path, loaded: LoadedDataset, progress: Progress) -> None:
    rows = _csv_rows(path / "suppliers.csv")
    progress.stage("catalogs", len(rows))
    for row in rows:
        slug = row["supplier_id"]
        locale = normalise_locale(row.get("locale") or "en-US")
        supplier = save_supplier(
            session,
            slug,
            SupplierFields(name=row.get("name") or slug, locale=locale,
                           currency=row.get("currency") or None, timezone=_timezone(locale)),
            mail_domain="chat2order.local",
        )
        loaded.suppliers[slug] = supplier.id
        catalog_path = path / "catalogs" / f"{slug}.csv"
        if catalog_path.is_file():
            catalog = read_catalog(catalog_path)
            loaded.catalogs[slug] = apply_catalog(
                session, supplier.id, catalog, result=ImportResult(supplier=slug, file=str(catalog_path)))
            loaded.warnings.extend(str(error) for error in catalog.errors)
        else:
            loaded.warnings.append(f"{slug}: no catalogs/{slug}.csv, supplier has no catalog")
        progress.advance()


def _load_restaurants(session: Session, path: Path, loaded: LoadedDataset) -> None:
    for row in _csv_rows(path / "restaurants.csv"):
        slug = row["restaurant_id"]
        locale = normalise_locale(row.get("locale") or "en-US")
        restaurant = session.scalar(select(Restaurant).where(Restaurant.slug == slug))
        if restaurant is None:
            restaurant = Restaurant(slug=slug)
            session.add(restaurant)
        restaurant.name = row.get("name") or slug
        restaurant.locale = locale
        restaurant.timezone = _timezone(locale)
        session.flush()
        loaded.restaurants[slug] = restaurant.id

        email = f"chef@{slug}.{CONTACT_DOMAIN}"
        contact = session.scalar(select(Contact).where(Contact.restaurant_id == restaurant.id, Contact.email == email))
        if contact is None:
            phone = bench_phone(slug)
            if session.scalar(select(Contact.id).where(Contact.phone == phone)) is not None:
                loaded.warnings.append(f"{slug}: bench phone {phone} taken by another contact; chef has no phone")
                phone = None
            contact = Contact(restaurant_id=restaurant.id, name=f"Chef, {restaurant.name}"[:200], phone=phone,
                              email=email, role="chef", locale=locale)
            session.add(contact)
            session.flush()
        loaded.contacts[slug] = contact.id
        if contact.phone:
            loaded.contact_phones[slug] = contact.phone
        loaded.contact_emails[slug] = email


def _load_accounts_and_orders(session: Session, path: Path, loaded: LoadedDataset, progress: Progress) -> None:
    orders = list(_jsonl(path / "orders.jsonl"))
    pairs = {(o["restaurant"], o["supplier"]) for _, o in orders}
    pairs |= {(m.get("restaurant"), m.get("supplier")) for _, m in _jsonl(path / "messages.jsonl")}
    existing_accounts = set(session.execute(select(Account.restaurant_id, Account.supplier_id)).all())
    for restaurant_slug, supplier_slug in sorted(pairs, key=str):
        if restaurant_slug not in loaded.restaurants or supplier_slug not in loaded.suppliers:
            loaded.warnings.append(f"unknown restaurant/supplier pair {restaurant_slug}/{supplier_slug}: no account")
            continue
        key = (loaded.restaurants[restaurant_slug], loaded.suppliers[supplier_slug])
        if key not in existing_accounts:
            session.add(Account(restaurant_id=key[0], supplier_id=key[1]))
            existing_accounts.add(key)
            loaded.accounts_created += 1

    items: dict[tuple[int, str], tuple[int, Decimal]] = {
        (row.supplier_id, row.sku): (row.id, row.price)
        for row in session.execute(
            select(CatalogItem.supplier_id, CatalogItem.sku, CatalogItem.id, CatalogItem.price)
            .where(CatalogItem.supplier_id.in_(list(loaded.suppliers.values())))
        )
    }
    seen = {
        (r, s, _utc_naive(p))
        for r, s, p in session.execute(
            select(Order.restaurant_id, Order.supplier_id, Order.placed_at)
            .where(Order.restaurant_id.in_(list(loaded.restaurants.values())))
        ).all()
    }
    currencies = dict(session.execute(select(Supplier.id, Supplier.currency)).all())
    locales = dict(session.execute(select(Restaurant.id, Restaurant.locale)).all())
    progress.stage("past orders", len(orders))
    for number, record in orders:
        progress.advance()
        restaurant_id = loaded.restaurants.get(record.get("restaurant"))
        supplier_id = loaded.suppliers.get(record.get("supplier"))
        if restaurant_id is None or supplier_id is None:
            loaded.warnings.append(f"orders.jsonl, line {number}: unknown restaurant or supplier, skipped")
            continue
        try:
            placed_at = dt.datetime.fromisoformat(record["placed_at"])
        except (KeyError, ValueError):
            loaded.warnings.append(f"orders.jsonl, line {number}: bad placed_at, skipped")
            continue
        if placed_at.tzinfo is None:
            loaded.warnings.append(f"orders.jsonl, line {number}: placed_at has no UTC offset, skipped")
            continue
        key = (restaurant_id, supplier_id, _utc_naive(placed_at))
        if key in seen:
            loaded.orders_existing += 1
            continue
        seen.add(key)
        placed_utc = placed_at.astimezone(dt.UTC)
        order = Order(
            restaurant_id=restaurant_id, supplier_id=supplier_id, contact_id=loaded.contacts[record["restaurant"]],
            status="dispatched", placed_at=placed_utc, confirmed_at=placed_utc, dispatched_at=placed_utc,
            currency=currencies[supplier_id], locale=locales[restaurant_id], notes=f"history from {path.name}",
        )
        for position, line in enumerate(record.get("lines", [])):
            item = items.get((supplier_id, line.get("sku")))
            if item is None:
                loaded.warnings.append(f"orders.jsonl, line {number}: sku {line.get('sku')!r} not in the catalog, line skipped")
                continue
            order.lines.append(OrderLine(
                position=position, catalog_item_id=item[0], quantity=Decimal(str(line["quantity"])),
                unit=line.get("unit"), text="", confidence=1.0, needs_review=False, unit_price=item[1],
            ))
            loaded.lines_created += 1
        session.add(order)
        loaded.orders_created += 1
    session.flush()
