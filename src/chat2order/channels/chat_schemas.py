"""Request and response models of the chat API (pydantic), and how rows become responses.

spectree validates requests with these models and generates `/openapi.json` from them, so the document
cannot drift from the code.

Money and quantities travel as decimal strings ("12.50"), never floats, so a client adds them up exactly.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.json_schema import SkipJsonSchema
from sqlalchemy.orm import Session

from chat2order.ordering import conversations, orders
from chat2order.tables import CatalogItem, Order, Restaurant, Supplier

# PostgreSQL text cannot hold NUL; refusing it in the schema turns it into a 422 instead of a crash.
NO_NUL = r"^[^\x00]*$"
# Quantities the chef types: positive, up to 99999.9999, as a string so no float rounding creeps in.
# (No look-ahead: the pattern must mean the same to pydantic's Rust regex and to JavaScript clients.)
QUANTITY_PATTERN = r"^(0{0,5}[1-9][0-9]{0,4}(\.[0-9]{1,4})?|0{1,5}\.([1-9][0-9]{0,3}|0[1-9][0-9]{0,2}|00[1-9][0-9]?|000[1-9]))$"
ORDER_STATUS = Literal["draft", "awaiting_chef", "confirmed", "dispatched", "cancelled"]


class _Strict(BaseModel):
    # Unknown fields are refused: a typo in a client should fail loudly, not be ignored.
    model_config = ConfigDict(extra="forbid")


class ErrorResponse(BaseModel):
    """Every error of the app has this shape (`chat2order.web` makes the same one)."""

    error: str = Field(description="Machine-readable reason, e.g. not_found, unauthorized, invalid_request.")
    message: str
    details: list[dict[str, object]] | None = Field(
        default=None, description="Schema errors, field by field."
    )


class SendMessage(_Strict):
    """A chef's message to one supplier. `client_id` makes a retry harmless: the same id is stored once."""

    client_id: str = Field(min_length=8, max_length=100, pattern=r"^[A-Za-z0-9._:-]+$")
    supplier: str = Field(min_length=1, max_length=64, pattern=NO_NUL, description="The supplier's slug.")
    text: str = Field(min_length=1, max_length=5000, pattern=NO_NUL)


class MessageAccepted(BaseModel):
    message_id: int
    created: bool = Field(description="False when this client_id was already received (nothing new stored).")
    status: str


class SupplierOut(BaseModel):
    slug: str
    name: str
    currency: str


class RestaurantOut(BaseModel):
    slug: str
    name: str


class MeOut(BaseModel):
    kind: Literal["contact", "supplier"]
    name: str
    restaurant: RestaurantOut | None = None
    suppliers: list[SupplierOut]


class ThreadMessage(BaseModel):
    key: str = Field(description="Stable id in the thread: in-<id> for received, out-<id> for sent.")
    direction: Literal["in", "out"]
    channel: str
    text: str
    at: dt.datetime
    status: str
    order_id: int | None = None


class OrderSummary(BaseModel):
    id: int
    status: ORDER_STATUS | str
    supplier: SupplierOut
    restaurant: RestaurantOut
    channel: str | None
    placed_at: dt.datetime
    delivery_date: dt.date | None
    currency: str
    total: Decimal = Field(description="Sum of the priced lines.")
    total_complete: bool = Field(
        description="False when some line has no price yet (the supplier will price it)."
    )
    line_count: int
    needs_review: bool = Field(description="Some line waits for the chef to choose or confirm.")


class CandidateOut(BaseModel):
    sku: str
    name: str
    pack: str
    unit: str
    price: Decimal | None


class OrderLineOut(BaseModel):
    id: int
    position: int
    text: str = Field(description="The chef's own words for this line.")
    sku: str | None
    name: str | None
    pack: str | None
    quantity: Decimal | None
    unit: str | None
    unit_price: Decimal | None
    line_total: Decimal | None
    confidence: float
    needs_review: bool
    not_carried: bool = Field(description="The supplier does not sell this; it is not on the sheet.")
    candidates: list[CandidateOut]


class OrderDetail(OrderSummary):
    notes: str | None
    lines: list[OrderLineOut]


class OrderList(BaseModel):
    orders: list[OrderSummary]


class Conversation(BaseModel):
    supplier: SupplierOut
    messages: list[ThreadMessage]
    orders: list[OrderDetail] = Field(
        description="The orders the thread talks about and any still waiting for the chef, oldest first."
    )


class OrdersQuery(_Strict):
    status: ORDER_STATUS | None = None
    supplier: str | None = Field(default=None, min_length=1, max_length=64, pattern=NO_NUL)
    limit: int = Field(default=50, ge=1, le=200)


class LineEdit(_Strict):
    """Fix one line: choose a SKU (e.g. one of the candidates of a flagged line) and/or change the quantity."""

    # At least one of the two, never null: said in the schema too, so generated clients get it right.
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"anyOf": [{"required": ["sku"]}, {"required": ["quantity"]}]}
    )

    # Constraints sit on the `str` arm: on the field they would vanish from the schema with the None arm.
    sku: SkipJsonSchema[None] | Annotated[str, Field(min_length=1, max_length=64, pattern=NO_NUL)] = None
    quantity: SkipJsonSchema[None] | Annotated[str, Field(pattern=QUANTITY_PATTERN)] = Field(
        default=None,
        description='A positive decimal as a string, at most 4 decimal places: "2", "0.5", "12.25".',
    )

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, data: Any) -> Any:
        if isinstance(data, dict) and any(data.get(k, "") is None for k in ("sku", "quantity")):
            raise ValueError("leave a field out instead of sending null")
        return data

    @property
    def quantity_decimal(self) -> Decimal | None:
        return Decimal(self.quantity) if self.quantity is not None else None

    @model_validator(mode="after")
    def _something_to_change(self) -> LineEdit:
        if self.sku is None and self.quantity is None:
            raise ValueError("give sku, quantity or both")
        return self


# ---------------------------------------------------------------------------------------------------------
# From rows to responses (the routes call these inside their session).


def supplier_out(supplier: Supplier) -> SupplierOut:
    return SupplierOut(slug=supplier.slug, name=supplier.name, currency=supplier.currency)


def restaurant_out(restaurant: Restaurant) -> RestaurantOut:
    return RestaurantOut(slug=restaurant.slug, name=restaurant.name)


def summary_fields(order: Order) -> dict[str, Any]:
    total = orders.order_total(order)
    return {
        "id": order.id,
        "status": order.status,
        "supplier": supplier_out(order.supplier),
        "restaurant": restaurant_out(order.restaurant),
        "channel": order.channel,
        "placed_at": conversations.aware(order.placed_at),
        "delivery_date": order.delivery_date,
        "currency": order.currency,
        "total": total.amount,
        "total_complete": total.complete,
        "line_count": len(order.lines),
        "needs_review": any(line.needs_review for line in order.lines),
    }


def _candidate(item: CatalogItem) -> CandidateOut:
    return CandidateOut(sku=item.sku, name=item.name, pack=item.pack, unit=item.unit, price=item.price)


def _detail(order: Order, items: dict[tuple[int, str], CatalogItem]) -> OrderDetail:
    lines = []
    for line in order.lines:
        options = orders.options(line) if line.needs_review else []
        lines.append(
            OrderLineOut(
                id=line.id,
                position=line.position,
                text=line.text,
                sku=line.item.sku if line.item else None,
                name=line.item.name if line.item else None,
                pack=line.item.pack if line.item else None,
                quantity=line.quantity,
                unit=line.unit or (line.item.unit if line.item else None),
                unit_price=line.unit_price,
                line_total=orders.line_total(line),
                confidence=line.confidence,
                needs_review=line.needs_review,
                not_carried=orders.is_not_carried(line),
                candidates=[
                    _candidate(item)
                    for sku in options
                    if (
                        item := items.get((order.supplier_id, sku))
                        or (line.item if line.item and line.item.sku == sku else None)
                    )
                ],
            )
        )
    return OrderDetail(**summary_fields(order), notes=order.notes, lines=lines)


def order_details(session: Session, orders: list[Order]) -> list[OrderDetail]:
    items = conversations.candidate_items(session, orders)
    return [_detail(order, items) for order in orders]
