"""The ORM tables: SQLAlchemy 2 declarative mapping with `Mapped[]` columns.

Money is `Numeric` (Decimal in Python). Times are stored timezone-aware in UTC; local dates are derived
with the restaurant's or supplier's timezone. Statuses are short strings checked by the services, so a
new status never needs a database enum migration.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    Time,
    UniqueConstraint,
    func,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from chat2order.db import Base

Money = Numeric(12, 4)
Quantity = Numeric(12, 4)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware timestamp stored in UTC on every database.

    SQLite keeps no offset: without this, "23:20+01:00" would come back as 23:20 UTC, an hour and possibly a
    day off. Aware values are converted to UTC on the way in; values come back aware (UTC). A naive value is
    refused, because its meaning is a guess.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: store timezone-aware times")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value


class Timestamped:
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=func.now())


class Supplier(Timestamped, Base):
    __tablename__ = "suppliers"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    locale: Mapped[str] = mapped_column(String(16), default="en-US")
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    timezone: Mapped[str] = mapped_column(String(64), default="America/New_York")
    cutoff_time: Mapped[dt.time] = mapped_column(Time, default=dt.time(23, 0))
    # ISO weekdays (1 = Monday ... 7 = Sunday) on which the supplier delivers.
    delivery_weekdays: Mapped[list[int]] = mapped_column(JSON, default=lambda: [1, 2, 3, 4, 5, 6])
    order_email: Mapped[str | None] = mapped_column(String(320))
    order_phone: Mapped[str | None] = mapped_column(String(32))
    # Where chefs reach this supplier through chat2order: its own Twilio number and mailbox local part.
    inbound_phone: Mapped[str | None] = mapped_column(String(32), unique=True)
    inbound_email: Mapped[str | None] = mapped_column(String(320), unique=True)
    auto_confirm: Mapped[bool] = mapped_column(Boolean, default=False)
    morning_sheet_at: Mapped[dt.time | None] = mapped_column(Time)
    # Bumped by database triggers whenever one of the supplier's catalog items is inserted, updated or
    # deleted (migration 0002): the catalog index cache compares it instead of scanning the catalog.
    catalog_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    items: Mapped[list[CatalogItem]] = relationship(back_populates="supplier")


class CatalogItem(Base):
    __tablename__ = "catalog_items"
    __table_args__ = (UniqueConstraint("supplier_id", "sku"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id", ondelete="CASCADE"), index=True)
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(300))
    pack: Mapped[str] = mapped_column(String(100), default="")
    unit: Mapped[str] = mapped_column(String(16))
    price: Mapped[Decimal] = mapped_column(Money)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    supplier: Mapped[Supplier] = relationship(back_populates="items")


class Restaurant(Timestamped, Base):
    __tablename__ = "restaurants"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    locale: Mapped[str] = mapped_column(String(16), default="en-US")
    timezone: Mapped[str] = mapped_column(String(64), default="America/New_York")


class Contact(Timestamped, Base):
    """A chef, sous-chef or manager who orders for a restaurant."""

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    restaurant_id: Mapped[int] = mapped_column(ForeignKey("restaurants.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(32), unique=True)  # E.164
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    role: Mapped[str] = mapped_column(String(32), default="chef")
    locale: Mapped[str | None] = mapped_column(String(16))
    sms_opted_out: Mapped[bool] = mapped_column(Boolean, default=False)

    restaurant: Mapped[Restaurant] = relationship()


class Account(Timestamped, Base):
    """A restaurant buys from a supplier (the supplier's customer account)."""

    __tablename__ = "accounts"
    __table_args__ = (UniqueConstraint("restaurant_id", "supplier_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    restaurant_id: Mapped[int] = mapped_column(ForeignKey("restaurants.id", ondelete="CASCADE"), index=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id", ondelete="CASCADE"), index=True)
    customer_ref: Mapped[str | None] = mapped_column(String(64))

    restaurant: Mapped[Restaurant] = relationship()
    supplier: Mapped[Supplier] = relationship()


class ApiToken(Timestamped, Base):
    """A bearer token for the chat API: belongs to a restaurant contact or to a supplier's staff."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("suppliers.id", ondelete="CASCADE"), index=True)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)

    contact: Mapped[Contact | None] = relationship()
    supplier: Mapped[Supplier | None] = relationship()


class InboundMessage(Base):
    """Every message as it arrived, stored before any parsing (unique per provider id and channel)."""

    __tablename__ = "inbound_messages"
    __table_args__ = (
        UniqueConstraint("channel", "provider_id"),
        Index("ix_inbound_messages_status_received", "status", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))  # sms, whatsapp, voicemail, email, chat
    provider_id: Mapped[str] = mapped_column(String(255))  # MessageSid, Message-ID, chat client id
    sender: Mapped[str] = mapped_column(String(320))
    recipient: Mapped[str | None] = mapped_column(String(320))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"), index=True)
    restaurant_id: Mapped[int | None] = mapped_column(ForeignKey("restaurants.id", ondelete="SET NULL"), index=True)
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("suppliers.id", ondelete="SET NULL"), index=True)
    subject: Mapped[str | None] = mapped_column(String(998))
    body: Mapped[str] = mapped_column(Text, default="")
    raw: Mapped[str] = mapped_column(Text, default="")
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(24), default="received")
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)

    contact: Mapped[Contact | None] = relationship()
    restaurant: Mapped[Restaurant | None] = relationship()
    supplier: Mapped[Supplier | None] = relationship()


ORDER_STATUSES = ("draft", "awaiting_chef", "confirmed", "dispatched", "cancelled")


class Order(Timestamped, Base):
    __tablename__ = "orders"
    __table_args__ = (Index("ix_orders_restaurant_supplier_placed", "restaurant_id", "supplier_id", "placed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    restaurant_id: Mapped[int] = mapped_column(ForeignKey("restaurants.id", ondelete="CASCADE"))
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id", ondelete="CASCADE"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    source_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("inbound_messages.id", ondelete="SET NULL"), unique=True
    )
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    channel: Mapped[str | None] = mapped_column(String(16))
    locale: Mapped[str | None] = mapped_column(String(16))
    placed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivery_date: Mapped[dt.date | None] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    dispatched_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    notes: Mapped[str | None] = mapped_column(Text)

    restaurant: Mapped[Restaurant] = relationship()
    supplier: Mapped[Supplier] = relationship()
    contact: Mapped[Contact | None] = relationship()
    source_message: Mapped[InboundMessage | None] = relationship()
    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", order_by="OrderLine.position", cascade="all, delete-orphan"
    )


class OrderLine(Base):
    __tablename__ = "order_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    catalog_item_id: Mapped[int | None] = mapped_column(ForeignKey("catalog_items.id", ondelete="RESTRICT"), index=True)
    quantity: Mapped[Decimal | None] = mapped_column(Quantity)
    unit: Mapped[str | None] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text, default="")  # the chef's own words
    confidence: Mapped[float] = mapped_column(default=1.0)
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False)
    candidates: Mapped[list[str]] = mapped_column(JSON, default=list)  # SKUs to choose between
    unit_price: Mapped[Decimal | None] = mapped_column(Money)

    order: Mapped[Order] = relationship(back_populates="lines")
    item: Mapped[CatalogItem | None] = relationship()


OUTBOUND_STATUSES = ("pending", "queued", "sending", "sent", "delivered", "failed", "undeliverable")


class OutboundMessage(Base):
    """The transactional outbox: written with the change that causes it, sent by a job after commit."""

    __tablename__ = "outbound_messages"
    __table_args__ = (Index("ix_outbound_messages_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))  # sms, whatsapp, email, chat
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str | None] = mapped_column(String(998))
    body: Mapped[str] = mapped_column(Text)
    html: Mapped[str | None] = mapped_column(Text)
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    purpose: Mapped[str] = mapped_column(String(32), default="notice")
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    provider_id: Mapped[str | None] = mapped_column(String(255), index=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"), index=True)
    inbound_message_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_messages.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    order: Mapped[Order | None] = relationship()
    inbound_message: Mapped[InboundMessage | None] = relationship()


class Watermark(Base):
    """How far a periodic sweep got (e.g. `twilio_reconcile`): the next run starts from here, so a failed
    run that never advanced it is simply done again."""

    __tablename__ = "watermarks"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
