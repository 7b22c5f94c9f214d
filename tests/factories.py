"""One factory per table (factory_boy + Faker): every regular column random, every belongs-to built.

Has-many rows are made in the test that needs them. `bind(session)` points all factories at the
session of the current test (conftest does it).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import factory
from factory.alchemy import SQLAlchemyModelFactory
from sqlalchemy.orm import Session

from chat2order import tables

LOCALES = ["en-US", "en-GB", "pt-PT", "fr-FR", "it-IT", "es-ES"]
TIMEZONES = ["America/New_York", "Europe/London", "Europe/Lisbon", "Europe/Paris", "Europe/Rome", "Europe/Madrid"]
UNITS = ["case", "kg", "lb", "each", "bunch", "bag", "flat", "dozen"]
CHANNELS = ["sms", "whatsapp", "email", "chat", "voicemail"]


class Base(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session = None
        sqlalchemy_session_persistence = "flush"


def bind(session: Session | None, commit: bool = False) -> None:
    """Point every factory at `session` (None unbinds); `commit=True` commits each object made."""
    for factory_class in _ALL:
        factory_class._meta.sqlalchemy_session = session
        factory_class._meta.sqlalchemy_session_persistence = "commit" if commit else "flush"


def _e164(n: int) -> str:
    return f"+1555{n:07d}"


class SupplierFactory(Base):
    class Meta:
        model = tables.Supplier

    slug = factory.LazyAttributeSequence(lambda o, n: f"s-{n}-{o.name.split()[0].lower()}"[:60])
    name = factory.Faker("company")
    locale = factory.Faker("random_element", elements=LOCALES)
    currency = factory.Faker("random_element", elements=["USD", "GBP", "EUR"])
    timezone = factory.Faker("random_element", elements=TIMEZONES)
    cutoff_time = factory.Faker("time_object")
    delivery_weekdays = factory.Faker("random_elements", elements=[1, 2, 3, 4, 5, 6, 7], unique=True, length=5)
    order_email = factory.Faker("company_email")
    order_phone = factory.Sequence(lambda n: _e164(2_000_000 + n))
    inbound_phone = factory.Sequence(lambda n: _e164(3_000_000 + n))
    inbound_email = factory.Sequence(lambda n: f"orders+s{n}@chat2order.local")
    auto_confirm = factory.Faker("pybool")
    morning_sheet_at = factory.Faker("time_object")


class CatalogItemFactory(Base):
    class Meta:
        model = tables.CatalogItem

    supplier = factory.SubFactory(SupplierFactory)
    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    name = factory.Faker("word")
    pack = factory.Faker("random_element", elements=["25 lb case", "cx 6 kg", "per lb", "kg", "bunch", "dozen"])
    unit = factory.Faker("random_element", elements=UNITS)
    price = factory.Faker("pydecimal", left_digits=3, right_digits=2, positive=True)
    active = True


class RestaurantFactory(Base):
    class Meta:
        model = tables.Restaurant

    slug = factory.Sequence(lambda n: f"r-{n}")
    name = factory.Faker("company")
    locale = factory.Faker("random_element", elements=LOCALES)
    timezone = factory.Faker("random_element", elements=TIMEZONES)


class ContactFactory(Base):
    class Meta:
        model = tables.Contact

    restaurant = factory.SubFactory(RestaurantFactory)
    name = factory.Faker("name")
    phone = factory.Sequence(lambda n: _e164(4_000_000 + n))
    email = factory.LazyAttributeSequence(lambda o, n: f"{o.name.split()[0].lower()}.{n}@example.org")
    role = factory.Faker("random_element", elements=["chef", "sous-chef", "manager"])
    locale = factory.Faker("random_element", elements=LOCALES)
    sms_opted_out = False


class AccountFactory(Base):
    class Meta:
        model = tables.Account

    restaurant = factory.SubFactory(RestaurantFactory)
    supplier = factory.SubFactory(SupplierFactory)
    customer_ref = factory.Faker("bothify", text="C-#####")


class ApiTokenFactory(Base):
    class Meta:
        model = tables.ApiToken

    token_hash = factory.Faker("sha256")
    label = factory.Faker("word")
    contact = factory.SubFactory(ContactFactory)
    supplier = None
    revoked = False


class InboundMessageFactory(Base):
    class Meta:
        model = tables.InboundMessage

    channel = factory.Faker("random_element", elements=CHANNELS)
    provider_id = factory.Faker("uuid4")
    sender = factory.Faker("phone_number")
    recipient = factory.Faker("phone_number")
    contact = factory.SubFactory(ContactFactory)
    restaurant = factory.SelfAttribute("contact.restaurant")
    supplier = factory.SubFactory(SupplierFactory)
    subject = factory.Faker("sentence")
    body = factory.Faker("sentence")
    raw = factory.Faker("text")
    meta = factory.Dict({})
    received_at = factory.Faker("date_time_this_month", tzinfo=dt.UTC)
    status = "received"
    error = None
    attempts = 0


class OrderFactory(Base):
    class Meta:
        model = tables.Order

    restaurant = factory.SubFactory(RestaurantFactory)
    supplier = factory.SubFactory(SupplierFactory)
    contact = factory.SubFactory(ContactFactory, restaurant=factory.SelfAttribute("..restaurant"))
    source_message = factory.SubFactory(
        InboundMessageFactory,
        contact=factory.SelfAttribute("..contact"),
        supplier=factory.SelfAttribute("..supplier"),
    )
    status = factory.Faker("random_element", elements=tables.ORDER_STATUSES)
    channel = factory.Faker("random_element", elements=CHANNELS)
    locale = factory.Faker("random_element", elements=LOCALES)
    placed_at = factory.Faker("date_time_this_month", tzinfo=dt.UTC)
    delivery_date = factory.Faker("date_between", start_date="+1d", end_date="+7d")
    currency = factory.SelfAttribute("supplier.currency")
    confirmed_at = None
    dispatched_at = None
    notes = factory.Faker("sentence")


class OrderLineFactory(Base):
    class Meta:
        model = tables.OrderLine

    order = factory.SubFactory(OrderFactory)
    position = factory.Sequence(int)
    item = factory.SubFactory(CatalogItemFactory, supplier=factory.SelfAttribute("..order.supplier"))
    quantity = factory.Faker("pydecimal", left_digits=2, right_digits=1, positive=True)
    unit = factory.SelfAttribute("item.unit")
    text = factory.Faker("sentence", nb_words=4)
    confidence = factory.Faker("pyfloat", min_value=0, max_value=1)
    needs_review = factory.Faker("pybool")
    candidates = factory.List([])
    unit_price = factory.SelfAttribute("item.price")


class OutboundMessageFactory(Base):
    class Meta:
        model = tables.OutboundMessage

    channel = factory.Faker("random_element", elements=["sms", "whatsapp", "email"])
    recipient = factory.Faker("email")
    subject = factory.Faker("sentence")
    body = factory.Faker("paragraph")
    html = None
    attachments = factory.List([])
    purpose = factory.Faker("random_element", elements=["confirmation", "order_sheet", "notice"])
    idempotency_key = factory.Faker("uuid4")
    status = "pending"
    attempts = 0
    provider_id = None
    last_error = None
    order = factory.SubFactory(OrderFactory)
    inbound_message = None
    next_attempt_at = None
    sent_at = None


class WatermarkFactory(Base):
    class Meta:
        model = tables.Watermark

    name = factory.Sequence(lambda n: f"sweep-{n}")
    at = factory.Faker("date_time_this_month", tzinfo=dt.UTC)
    updated_at = factory.Faker("date_time_this_month", tzinfo=dt.UTC)


_ALL: list[Any] = [
    SupplierFactory,
    CatalogItemFactory,
    RestaurantFactory,
    ContactFactory,
    AccountFactory,
    ApiTokenFactory,
    InboundMessageFactory,
    OrderFactory,
    OrderLineFactory,
    OutboundMessageFactory,
    WatermarkFactory,
]

__all__ = [f.__name__ for f in _ALL] + ["bind", "Decimal"]
