"""The parser's inputs and outputs: small frozen dataclasses, no I/O.

These are the contract between the parser and the rest of chat2order. The ordering services map database
rows into `CatalogEntry` / `PastOrder` and map a `ParsedOrder` back into order lines.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

Intent = Literal["order", "other"]


@dataclass(frozen=True)
class CatalogEntry:
    """One SKU of a supplier's price list, as the supplier writes it."""

    sku: str
    name: str
    pack: str
    unit: str  # canonical sale unit (FORMAT.md): case, kg, lb, each, bunch, ...
    price: Decimal | None = None


@dataclass(frozen=True)
class PastLine:
    sku: str
    quantity: Decimal
    unit: str | None


@dataclass(frozen=True)
class PastOrder:
    """A confirmed order of this restaurant with this supplier; `placed_at` carries the local UTC offset."""

    placed_at: dt.datetime
    lines: tuple[PastLine, ...]


@dataclass(frozen=True)
class ParseContext:
    """Everything `parse` may know besides the text.

    `index` is the supplier's prepared catalog index (None: parse without a catalog, lines carry no SKU).
    `received_at` is timezone-aware, in the restaurant's local offset.
    """

    index: Any | None  # chat2order.parsing.index.CatalogIndex
    history: tuple[PastOrder, ...] = ()
    locale: str = "en-US"
    received_at: dt.datetime | None = None
    channel: str = "sms"


@dataclass(frozen=True)
class ParsedLine:
    text: str  # the chef's own words for this line
    sku: str | None  # None: not carried (or no catalog), or undecided when needs_review
    quantity: Decimal | None
    unit: str | None  # canonical unit as the chef said it; None means the SKU's sale unit
    confidence: float  # 0..1, calibrated: needs_review is confidence < threshold or a real ambiguity
    needs_review: bool
    candidates: tuple[str, ...] = ()  # SKUs a person would choose between
    not_carried: bool = False  # the supplier does not sell this
    product: str = ""  # the product words without quantity and unit ("roma tomatoes")


@dataclass(frozen=True)
class ParsedOrder:
    intent: Intent
    lines: tuple[ParsedLine, ...]
    delivery_date: dt.date | None
    language: str  # two-letter language the text was read in
    cleaned_text: str  # the text that was read (quotes, signatures, greetings removed)
    intent_confidence: float = 1.0
    notes: tuple[str, ...] = field(default_factory=tuple)  # what a person should know (e.g. "MMS media")

    @property
    def needs_review(self) -> bool:
        return any(line.needs_review for line in self.lines)

    def to_prediction(self, message_id: str) -> dict[str, Any]:
        """The benchmark's prediction record (FORMAT.md)."""
        return {
            "id": message_id,
            "intent": self.intent,
            "delivery_date": self.delivery_date.isoformat() if self.delivery_date else None,
            "lines": [
                {
                    "sku": line.sku,
                    "quantity": float(line.quantity) if line.quantity is not None else None,
                    "unit": line.unit,
                    "needs_review": line.needs_review,
                    **({"text": line.text} if line.sku is None else {}),
                }
                for line in self.lines
            ],
        }
