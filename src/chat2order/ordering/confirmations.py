"""What the chef reads back: the order as understood, questions for flagged lines, changes, the total.

Rendered in the chef's language and channel. SMS and WhatsApp get compact plain text (an SMS is kept
under Twilio's 1,600-character limit and, for a usual order, within one or two segments: no no-break
spaces, one line per item); email gets a fuller text part plus an HTML table; chat gets the fuller text.
Questions number their options across the whole message ("1) Roma ... 2) Cherry ..."), so a reply of
"1" or "roma" answers without ambiguity; `option_numbers` is the same numbering for the reply parser.
"""

from __future__ import annotations

import datetime as dt
import html as htmllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from chat2order import i18n
from chat2order.i18n import npt, t
from chat2order.ordering import orders
from chat2order.tables import CatalogItem, Order, OrderLine

Kind = Literal["draft", "auto_confirmed", "confirmed", "updated", "cancelled", "not_understood", "too_late"]
SMS_LIMIT = 1600  # Twilio refuses longer bodies
COMPACT_CHANNELS = frozenset({"sms", "whatsapp", "voicemail"})


@dataclass(frozen=True)
class Notice:
    """Facts to tell the chef besides the order itself."""

    requested: dt.date | None = None  # the day the chef asked for, when we cannot deliver then
    reason: str = ""  # "cutoff", "no_delivery_day", "past" (see schedule.DeliveryPlan)
    deadline: dt.datetime | None = None  # changes accepted until then
    changes: tuple[str, ...] = field(default_factory=tuple)  # already-rendered change sentences


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str
    html: str | None = None


def unit_label(locale: str | None, unit: str | None, quantity: Decimal | None) -> str:
    """The unit as a chef reads it; '' for plain counts."""
    n = 1 if quantity is not None and quantity <= 1 else 2
    labels = {
        "case": lambda: npt(locale, "unit", "case", "cases", n),
        "bag": lambda: npt(locale, "unit", "bag", "bags", n),
        "bunch": lambda: npt(locale, "unit", "bunch", "bunches", n),
        "flat": lambda: npt(locale, "unit", "flat", "flats", n),
        "bottle": lambda: npt(locale, "unit", "bottle", "bottles", n),
        "can": lambda: npt(locale, "unit", "can", "cans", n),
        "jar": lambda: npt(locale, "unit", "jar", "jars", n),
        "tub": lambda: npt(locale, "unit", "tub", "tubs", n),
        "pack": lambda: npt(locale, "unit", "pack", "packs", n),
        "head": lambda: npt(locale, "unit", "head", "heads", n),
        "loaf": lambda: npt(locale, "unit", "loaf", "loaves", n),
        "dozen": lambda: npt(locale, "unit", "dozen", "dozen", n),
    }
    if unit is None or unit == "each":
        return ""
    if unit in labels:
        return labels[unit]()
    return "fl oz" if unit == "fl_oz" else unit


def quantity_text(locale: str | None, quantity: Decimal | None, unit: str | None) -> str:
    if quantity is None:
        return "?"
    label = unit_label(locale, unit, quantity)
    return f"{i18n.number(quantity, locale)} {label}".strip()


def item_text(item: CatalogItem) -> str:
    return f"{item.name} ({item.pack})" if item.pack else item.name


def option_numbers(order: Order) -> list[tuple[int, OrderLine, str]]:
    """(number, line, sku) for every option of every multi-choice question, numbered from 1."""
    numbered: list[tuple[int, OrderLine, str]] = []
    for line in order.lines:
        skus = orders.options(line)
        if line.needs_review and len(skus) > 1:
            for sku in skus:
                numbered.append((len(numbered) + 1, line, sku))
    return numbered


def _items(order: Order) -> dict[str, CatalogItem]:
    from sqlalchemy import select
    from sqlalchemy.orm import object_session

    skus = {sku for line in order.lines for sku in orders.options(line)}
    session = object_session(order)
    if not skus or session is None:
        return {}
    rows = session.scalars(
        select(CatalogItem).where(CatalogItem.supplier_id == order.supplier_id, CatalogItem.sku.in_(sorted(skus)))
    )
    return {item.sku: item for item in rows}


class _Writer:
    def __init__(self, order: Order, locale: str, channel: str) -> None:
        self.order = order
        self.locale = locale
        self.compact = channel in COMPACT_CHANNELS
        self.currency = order.currency or order.supplier.currency

    def money(self, amount: Decimal) -> str:
        return i18n.money(amount, self.currency, self.locale)

    def line(self, line: OrderLine) -> str:
        assert line.item is not None
        qty = quantity_text(self.locale, line.quantity, line.unit)
        total = orders.line_total(line)
        price = self.money(line.unit_price) if line.unit_price is not None else t(self.locale, "price to confirm")
        text = f"{qty} {item_text(line.item)} @ {price}"
        if total is not None:
            text += f" = {self.money(total)}"
        return text

    def question(
        self, line: OrderLine, numbered: list[tuple[int, OrderLine, str]], items: Mapping[str, CatalogItem]
    ) -> str:
        qty = quantity_text(self.locale, line.quantity, line.unit)
        what = " ".join((line.text or "").split()) or "?"
        if self.compact and len(what) > 60:
            what = what[:57] + "..."
        choices = [(n, items.get(sku)) for n, owner, sku in numbered if owner is line]
        if choices:
            rendered = " ".join(
                f"{n}) {item_text(item)} {self.money(item.price)}" for n, item in choices if item is not None
            )
            return t(self.locale, "{what} ({quantity}): {choices}?", what=what, quantity=qty, choices=rendered)
        if line.quantity is None and line.item is not None:
            return t(self.locale, "{what}: how many {product}?", what=what, product=item_text(line.item))
        if line.item is not None:
            price = self.money(line.unit_price) if line.unit_price is not None else t(self.locale, "price to confirm")
            product = f"{item_text(line.item)} {price}"
            return t(self.locale, "{what}: {quantity} {product}, right?", what=what, quantity=qty, product=product)
        return t(self.locale, "{what}: which product did you mean?", what=what)


def render(
    order: Order,
    kind: Kind,
    *,
    channel: str,
    locale: str,
    notice: Notice | None = None,
    items: Mapping[str, CatalogItem] | None = None,
) -> Rendered:
    """The message to the chef about `order` (see module docstring).

    `items`: catalog items by SKU covering the order's options, when the caller has them (saves a query)."""
    notice = notice or Notice()
    w = _Writer(order, locale, channel)
    supplier = order.supplier.name
    date_text = i18n.day(order.delivery_date, locale) if order.delivery_date else "?"
    out: list[str] = []

    if kind == "cancelled":
        out.append(t(locale, "{supplier}: your order for {date} is cancelled.", supplier=supplier, date=date_text))
        subject = t(locale, "Order cancelled: {supplier}, {date}", supplier=supplier, date=date_text)
        return _finish(out, subject, order, w, with_table=False)
    if kind == "too_late":
        out.append(t(locale, "{supplier}: this order can no longer be changed here; please call them.",
                     supplier=supplier))
        subject = t(locale, "Order with {supplier}", supplier=supplier)
        return _finish(out, subject, order, w, with_table=False)

    out.extend(notice.changes)
    if kind == "not_understood":
        out.append(t(locale, "Sorry, I did not understand that. Reply YES to confirm, a number to answer a "
                             "question, or a change such as \"make the onions 10kg\"."))
    headers = {
        "draft": t(locale, "{supplier}: your order for {date}", supplier=supplier, date=date_text),
        "updated": t(locale, "{supplier}: updated order for {date}", supplier=supplier, date=date_text),
        "not_understood": t(locale, "{supplier}: your order for {date}", supplier=supplier, date=date_text),
        "auto_confirmed": t(locale, "{supplier}: order confirmed for {date}", supplier=supplier, date=date_text),
        "confirmed": t(locale, "{supplier}: order confirmed for {date}", supplier=supplier, date=date_text),
    }
    out.append(headers[kind])
    if notice.reason and notice.requested is not None:
        requested = i18n.day(notice.requested, locale)
        if notice.reason == "no_delivery_day":
            out.append(t(locale, "No delivery on {requested}; the next delivery is {date}.",
                         requested=requested, date=date_text))
        else:
            out.append(t(locale, "Too late for {requested} (after the cut-off); the next delivery is {date}.",
                         requested=requested, date=date_text))

    numbered = option_numbers(order)
    options = items if items is not None else _items(order) if numbered else {}
    priced = [line for line in order.lines if line.item is not None and not line.needs_review]
    out.extend(f"- {w.line(line)}" for line in priced)
    not_carried = [line.text.strip() for line in order.lines if orders.is_not_carried(line)]
    if not_carried:
        out.append(t(locale, "Not carried: {items}", items=", ".join(not_carried)))
    questions = orders.open_questions(order)
    if questions:
        out.append(t(locale, "Please check:"))
        out.extend(w.question(line, numbered, options) for line in questions)
    total = orders.order_total(order)
    if total.complete:
        out.append(t(locale, "Total {total}", total=w.money(total.amount)))
    else:
        out.append(t(locale, "Total {total} + items priced by the supplier", total=w.money(total.amount)))

    deadline = i18n.clock(notice.deadline.timetz().replace(tzinfo=None), locale) if notice.deadline else ""
    if kind in ("draft", "updated", "not_understood"):
        if questions:
            out.append(t(locale, "Reply with your answers, or YES to confirm as it is."))
        else:
            out.append(t(locale, "Reply YES to confirm, or send changes."))
    elif kind == "auto_confirmed":
        out.append(t(locale, "Confirmed automatically. Send changes before {time}.", time=deadline or "?"))
    else:
        out.append(t(locale, "Confirmed and sent to {supplier}.", supplier=supplier))

    subjects = {
        "draft": t(locale, "Please confirm your order with {supplier} for {date}", supplier=supplier, date=date_text),
        "updated": t(locale, "Updated order with {supplier} for {date}", supplier=supplier, date=date_text),
        "not_understood": t(locale, "Please confirm your order with {supplier} for {date}", supplier=supplier,
                            date=date_text),
        "auto_confirmed": t(locale, "Order confirmed: {supplier}, {date}", supplier=supplier, date=date_text),
        "confirmed": t(locale, "Order confirmed: {supplier}, {date}", supplier=supplier, date=date_text),
    }
    return _finish(out, subjects[kind], order, w, with_table=True)


def _finish(out: list[str], subject: str, order: Order, w: _Writer, *, with_table: bool) -> Rendered:
    body = "\n".join(part for part in out if part)
    if w.compact:
        return Rendered(subject=subject, body=fit_sms(body))
    return Rendered(subject=subject, body=body, html=_html(out, order, w) if with_table else None)


# GSM 03.38: the basic set, and the extension characters that count twice.
_GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = set("^{}\\[~]|€")


def sms_segments(body: str) -> int:
    """How many SMS segments a body takes (GSM-7: 160/153 characters; otherwise UCS-2: 70/67)."""
    if all(ch in _GSM_BASIC or ch in _GSM_EXTENDED for ch in body):
        units = sum(2 if ch in _GSM_EXTENDED else 1 for ch in body)
        return 1 if units <= 160 else -(-units // 153)
    units = sum(2 if ord(ch) > 0xFFFF else 1 for ch in body)
    return 1 if units <= 70 else -(-units // 67)


def fit_sms(body: str, limit: int = SMS_LIMIT) -> str:
    """Keep an SMS within Twilio's limit: leave out item lines from the end of the list, and say how many.

    The header, the questions, the total and the call to action are kept: they are what the chef acts on.
    """
    if len(body) <= limit:
        return body
    lines = body.split("\n")
    items = [i for i, line in enumerate(lines) if line.startswith("- ")]
    dropped: set[int] = set()

    def build() -> str:
        out: list[str] = []
        for i, line in enumerate(lines):
            if i in dropped:
                if i == max(dropped):
                    out.append(f"(+{len(dropped)} ...)")
                continue
            out.append(line)
        return "\n".join(out)

    text = build()
    while len(text) > limit and items:
        dropped.add(items.pop())
        text = build()
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _html(parts: list[str], order: Order, w: _Writer) -> str:
    esc = htmllib.escape
    rows = []
    for line in order.lines:
        if line.item is None or line.needs_review:
            continue
        total = orders.line_total(line)
        rows.append(
            "<tr>"
            f"<td>{esc(quantity_text(w.locale, line.quantity, line.unit))}</td>"
            f"<td>{esc(line.item.name)}</td><td>{esc(line.item.pack or '')}</td>"
            f"<td style=\"text-align:right\">{esc(w.money(line.unit_price)) if line.unit_price is not None else ''}</td>"
            f"<td style=\"text-align:right\">{esc(w.money(total)) if total is not None else ''}</td>"
            "</tr>"
        )
    headers = [
        t(w.locale, "Quantity"),
        t(w.locale, "Product"),
        t(w.locale, "Pack"),
        t(w.locale, "Unit price"),
        t(w.locale, "Line total"),
    ]
    texts = [part for part in parts if part and not part.startswith("- ")]
    table = (
        "<table border=\"1\" cellpadding=\"4\" cellspacing=\"0\"><tr>"
        + "".join(f"<th>{esc(h)}</th>" for h in headers)
        + "</tr>"
        + "".join(rows)
        + "</table>"
    )
    first = f"<p><strong>{esc(texts[0])}</strong></p>" if texts else ""
    rest = "".join(f"<p>{esc(part)}</p>" for part in texts[1:])
    return f"<html><body>{first}{table if rows else ''}{rest}</body></html>"
