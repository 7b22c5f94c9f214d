"""Adding, updating and listing suppliers: the first step of onboarding ("easy new supplier setup").

Inputs arrive as people type them (`--cutoff 22:00 --delivery-days mon-sat --order-phone "912 345 678"`)
and are validated here, so the CLI, the dataset loader and the demo loader share one set of rules:
phones become E.164 (national numbers read in the locale's country), emails are checked, currency and
timezone default from the locale. `inbound_email` is stored as the full address; a bare local part
(`orders`) is completed with the mail domain.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from chat2order.errors import InvalidInput, NotFound
from chat2order.onboarding import locales
from chat2order.onboarding.contact_points import (
    format_weekdays,
    normalise_email,
    normalise_phone,
    parse_cutoff,
    parse_weekdays,
)
from chat2order.tables import CatalogItem, Supplier

SLUG_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-")


@dataclass(frozen=True)
class SupplierFields:
    """What a person may set on a supplier, as typed; None means "not given" (keep, or use the default)."""

    name: str | None = None
    locale: str | None = None
    currency: str | None = None
    timezone: str | None = None
    cutoff: str | None = None
    delivery_days: str | None = None
    order_email: str | None = None
    order_phone: str | None = None
    inbound_phone: str | None = None
    inbound_email: str | None = None
    auto_confirm: bool | None = None
    morning_sheet_at: str | None = None


def check_slug(slug: str) -> str:
    if not (2 <= len(slug) <= 64) or not set(slug) <= SLUG_CHARS or slug.startswith("-") or slug.endswith("-"):
        raise InvalidInput(f"slug {slug!r} must be 2-64 characters of a-z, 0-9 and '-' (e.g. greenleaf-produce)")
    return slug


def _optional(value: str, check: Any) -> str | None:
    # An empty string on the command line clears an optional contact point.
    return check(value) if value.strip() else None


def _validated(fields_: SupplierFields, current_locale: str, mail_domain: str) -> dict[str, Any]:
    """Column values for the given fields, validated and normalised."""
    values: dict[str, Any] = {}
    locale = current_locale
    if fields_.name is not None:
        if not fields_.name.strip():
            raise InvalidInput("name must not be empty")
        values["name"] = " ".join(fields_.name.split())[:200]
    if fields_.locale is not None:
        locale = values["locale"] = locales.normalise_locale(fields_.locale)
    region = locales.territory(locale)
    if fields_.currency is not None:
        values["currency"] = locales.check_currency(fields_.currency)
    if fields_.timezone is not None:
        values["timezone"] = locales.check_timezone(fields_.timezone)
    if fields_.cutoff is not None:
        values["cutoff_time"] = parse_cutoff(fields_.cutoff)
    if fields_.morning_sheet_at is not None:
        values["morning_sheet_at"] = _optional(fields_.morning_sheet_at, parse_cutoff)
    if fields_.delivery_days is not None:
        values["delivery_weekdays"] = parse_weekdays(fields_.delivery_days)
    if fields_.order_email is not None:
        values["order_email"] = _optional(fields_.order_email, lambda v: normalise_email(v, what="order email"))
    if fields_.order_phone is not None:
        values["order_phone"] = _optional(
            fields_.order_phone, lambda v: normalise_phone(v, region, what="order phone"))
    if fields_.inbound_phone is not None:
        values["inbound_phone"] = _optional(
            fields_.inbound_phone, lambda v: normalise_phone(v, region, what="inbound phone"))
    if fields_.inbound_email is not None:
        def inbound(value: str) -> str:
            address = value.strip() if "@" in value else f"{value.strip()}@{mail_domain}"
            return normalise_email(address, what="inbound email").lower()

        values["inbound_email"] = _optional(fields_.inbound_email, inbound)
    if fields_.auto_confirm is not None:
        values["auto_confirm"] = bool(fields_.auto_confirm)
    return values


def _check_unique(session: Session, values: dict[str, Any], supplier_id: int | None) -> None:
    for column in ("inbound_phone", "inbound_email"):
        value = values.get(column)
        if value is None:
            continue
        owner = session.scalar(select(Supplier.slug).where(getattr(Supplier, column) == value, Supplier.id != (supplier_id or 0)))
        if owner is not None:
            raise InvalidInput(f"{column.replace('_', ' ')} {value} is already used by supplier {owner!r}")


def save_supplier(
    session: Session, slug: str, fields_: SupplierFields, *, mail_domain: str, create: bool | None = None
) -> Supplier:
    """Create or update the supplier in the caller's transaction (never commits).

    `create=True` refuses an existing slug, `False` refuses a missing one, None does either (loaders).
    """
    supplier = session.scalar(select(Supplier).where(Supplier.slug == slug))
    if supplier is not None and create is True:
        raise InvalidInput(f"supplier {slug!r} already exists (change it with: chat2order supplier update {slug} ...)")
    if supplier is None and create is False:
        raise NotFound(f"no supplier {slug!r}")
    if supplier is None:
        check_slug(slug)
        if not fields_.name:
            raise InvalidInput("a new supplier needs a name (--name)")
        locale = locales.normalise_locale(fields_.locale or "en-US")
        defaults = SupplierFields(
            locale=locale,
            currency=fields_.currency or locales.default_currency(locale),
            timezone=fields_.timezone or locales.default_timezone(locale),
        )
        merged = {**{f.name: getattr(defaults, f.name) for f in fields(defaults) if getattr(defaults, f.name)},
                  **{f.name: getattr(fields_, f.name) for f in fields(fields_) if getattr(fields_, f.name) is not None}}
        values = _validated(SupplierFields(**merged), locale, mail_domain)
        _check_unique(session, values, None)
        supplier = Supplier(slug=slug, **values)
        session.add(supplier)
    else:
        values = _validated(fields_, supplier.locale, mail_domain)
        _check_unique(session, values, supplier.id)
        for column, value in values.items():
            setattr(supplier, column, value)
    session.flush()
    return supplier


def add_supplier(maker: sessionmaker[Session], slug: str, fields_: SupplierFields, *, mail_domain: str) -> dict[str, Any]:
    """Create a supplier (its own transaction); returns `describe(...)` of it."""
    with maker.begin() as session:
        return describe(session, save_supplier(session, slug, fields_, mail_domain=mail_domain, create=True))


def update_supplier(maker: sessionmaker[Session], slug: str, fields_: SupplierFields, *, mail_domain: str) -> dict[str, Any]:
    """Change the given fields of an existing supplier (its own transaction)."""
    with maker.begin() as session:
        return describe(session, save_supplier(session, slug, fields_, mail_domain=mail_domain, create=False))


def describe(session: Session, supplier: Supplier) -> dict[str, Any]:
    """A supplier as plain data (for `show --json`), with its catalog counts."""
    counts = dict(
        session.execute(
            select(CatalogItem.active, func.count()).where(CatalogItem.supplier_id == supplier.id).group_by(CatalogItem.active)
        ).all()
    )
    cutoff: dt.time = supplier.cutoff_time
    return {
        "slug": supplier.slug,
        "name": supplier.name,
        "locale": supplier.locale,
        "currency": supplier.currency,
        "timezone": supplier.timezone,
        "cutoff": cutoff.strftime("%H:%M"),
        "delivery_days": format_weekdays(list(supplier.delivery_weekdays or [])),
        "order_email": supplier.order_email,
        "order_phone": supplier.order_phone,
        "inbound_phone": supplier.inbound_phone,
        "inbound_email": supplier.inbound_email,
        "auto_confirm": supplier.auto_confirm,
        "morning_sheet_at": supplier.morning_sheet_at.strftime("%H:%M") if supplier.morning_sheet_at else None,
        "catalog_active": counts.get(True, 0),
        "catalog_inactive": counts.get(False, 0),
    }


def list_suppliers(maker: sessionmaker[Session]) -> list[dict[str, Any]]:
    with maker() as session:
        return [describe(session, s) for s in session.scalars(select(Supplier).order_by(Supplier.slug))]


def show_supplier(maker: sessionmaker[Session], slug: str) -> dict[str, Any]:
    with maker() as session:
        supplier = session.scalar(select(Supplier).where(Supplier.slug == slug))
        if supplier is None:
            raise NotFound(f"no supplier {slug!r}")
        return describe(session, supplier)
