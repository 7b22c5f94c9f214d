"""The supplier's order sheet: what was ordered, rendered for an email (HTML + text), CSV, PDF and SMS.

`sheet_for(session, order)` reads a confirmed order into a small `OrderSheet` value; the render functions
are pure. Money and line totals come from `ordering.orders` (the same arithmetic the chef's confirmation
used). Labels follow the supplier's language, numbers and dates its locale (Babel). The chef's own words
travel with every line: shown under a flagged line in the HTML/PDF, always in the CSV.

Everything the chef typed is untrusted: HTML is escaped and CSV cells that a spreadsheet would run as a
formula are neutralised. The consolidated morning sheet (`MorningSheet`) lists every restaurant's orders
for one delivery date. PDF rendering lives in `sheet_pdf.py`.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
from dataclasses import dataclass
from decimal import Decimal

from babel.core import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal
from sqlalchemy import select
from sqlalchemy.orm import Session

from chat2order.i18n import N_, t
from chat2order.notify import fit_sms_body
from chat2order.ordering import orders as order_rules
from chat2order.tables import Account, Order

# A line the parser or the chef left unsure of (its words are shown to the supplier).
FLAG_CONFIDENCE = 0.9

# The order sheet's words, in English; `Fmt` translates them through the gettext catalogs (`locale/`).
LABELS: dict[str, str] = {
    "order": N_("Order"),
    "restaurant": N_("Restaurant"),
    "account": N_("Account"),
    "delivery": N_("Delivery"),
    "placed": N_("Placed"),
    "contact": N_("Contact"),
    "sku": N_("SKU"),
    "product": N_("Product"),
    "pack": N_("Pack"),
    "qty": N_("Qty"),
    "unit": N_("Unit"),
    "price": N_("Unit price"),
    "line_total": N_("Line total"),
    "total": N_("Total"),
    "chef_wrote": N_("Chef wrote"),
    "to_confirm": N_("price to confirm"),
    "incomplete": N_("some prices to confirm"),
    "not_carried": N_("Also asked for (not in your catalog)"),
    "notes": N_("Notes"),
    "lines": N_("lines"),
    "morning": N_("Orders for delivery"),
    "unscheduled": N_("not set"),
    "amended": N_("Amended"),
    "cancelled": N_("Cancelled"),
}

CSV_COLUMNS = (
    "order_ref", "restaurant", "customer_ref", "delivery_date", "sku", "product", "pack", "quantity", "unit",
    "unit_price", "line_total", "currency", "chef_wrote", "flagged",
)


@dataclass(frozen=True)
class SheetLine:
    sku: str
    product: str
    pack: str
    quantity: Decimal | None
    unit: str
    unit_price: Decimal | None
    line_total: Decimal | None
    chef_words: str
    flagged: bool


@dataclass(frozen=True)
class OrderSheet:
    order_id: int
    reference: str
    supplier_name: str
    restaurant_name: str
    customer_ref: str | None
    contact: str
    delivery_date: dt.date | None
    placed_at: dt.datetime
    currency: str
    locale: str
    lines: tuple[SheetLine, ...]
    total: Decimal
    total_complete: bool
    not_carried: tuple[str, ...] = ()
    notes: str = ""
    amended: bool = False  # replaces a sheet the supplier may already have


@dataclass(frozen=True)
class MorningSheet:
    supplier_name: str
    delivery_date: dt.date
    currency: str
    locale: str
    orders: tuple[OrderSheet, ...]

    @property
    def total(self) -> Decimal:
        return sum((o.total for o in self.orders), Decimal(0))


def plain(value: Decimal) -> str:
    """A Decimal without exponent or trailing zeros: 10.000 -> "10", 2.50 -> "2.5"."""
    return format(value.normalize(), "f")


def money_plain(value: Decimal) -> str:
    """Money for machines: at least two decimals (12.5 -> "12.50"), more only when the price has them."""
    cents = value.quantize(Decimal("0.01"))
    return str(cents) if cents == value else plain(value)


def reference(order_id: int) -> str:
    return f"C2O-{order_id}"


def sheet_for(session: Session, order: Order, *, amended: bool = False) -> OrderSheet:
    """Read `order` (with its lines, items, restaurant and supplier) into an `OrderSheet`."""
    supplier, restaurant = order.supplier, order.restaurant
    customer_ref = session.execute(
        select(Account.customer_ref).where(
            Account.restaurant_id == order.restaurant_id, Account.supplier_id == order.supplier_id
        )
    ).scalar_one_or_none()
    lines: list[SheetLine] = []
    not_carried: list[str] = []
    for line in order.lines:
        item = line.item
        if order_rules.is_not_carried(line) or item is None:
            not_carried.append(line.text)
            continue
        lines.append(
            SheetLine(
                sku=item.sku,
                product=item.name,
                pack=item.pack or "",
                quantity=line.quantity,
                unit=line.unit or item.unit,
                unit_price=line.unit_price,
                line_total=order_rules.line_total(line),
                chef_words=line.text or "",
                flagged=bool(line.needs_review or line.candidates or line.confidence < FLAG_CONFIDENCE),
            )
        )
    total = order_rules.order_total(order)
    contact = order.contact
    contact_text = " ".join(p for p in (contact.name, contact.phone or contact.email or "") if p) if contact else ""
    return OrderSheet(
        order_id=order.id,
        reference=reference(order.id),
        supplier_name=supplier.name,
        restaurant_name=restaurant.name,
        customer_ref=customer_ref,
        contact=contact_text,
        delivery_date=order.delivery_date,
        placed_at=order.placed_at,
        currency=order.currency or supplier.currency,
        locale=supplier.locale or "en-US",
        lines=tuple(lines),
        total=total.amount,
        total_complete=total.complete,
        not_carried=tuple(not_carried),
        notes=order.notes or "",
        amended=amended,
    )


# ---------------------------------------------------------------------------------------------------------
# Formatting in the supplier's locale.


class Fmt:
    """Labels, money, quantities and dates in one locale."""

    def __init__(self, locale: str, currency: str) -> None:
        try:
            self.locale = Locale.parse(locale.replace("-", "_"))
        except (ValueError, UnknownLocaleError):
            self.locale = Locale.parse("en_US")
        self.currency = currency

    def __getitem__(self, key: str) -> str:
        return t(self.locale.language, LABELS[key])

    def money(self, amount: Decimal | None) -> str:
        return "" if amount is None else format_currency(amount, self.currency, locale=self.locale)

    def qty(self, quantity: Decimal | None) -> str:
        return "" if quantity is None else format_decimal(plain(quantity), locale=self.locale)

    def date(self, value: dt.date | None) -> str:
        return self["unscheduled"] if value is None else format_date(value, format="full", locale=self.locale)


def title(sheet: OrderSheet, f: Fmt) -> str:
    prefix = f"{f['amended']}: " if sheet.amended else ""
    return f"{prefix}{f['order']} {sheet.reference}"


def subject(sheet: OrderSheet) -> str:
    f = Fmt(sheet.locale, sheet.currency)
    return f"{title(sheet, f)} · {sheet.restaurant_name} · {f['delivery']} {f.date(sheet.delivery_date)}"


def cancellation_text(f: Fmt, reference: str, restaurant: str) -> str:
    return f"{f['cancelled']}: {f['order']} {reference} · {restaurant}"


def _header_pairs(sheet: OrderSheet, f: Fmt) -> list[tuple[str, str]]:
    pairs = [(f["restaurant"], sheet.restaurant_name)]
    if sheet.customer_ref:
        pairs.append((f["account"], sheet.customer_ref))
    pairs.append((f["delivery"], f.date(sheet.delivery_date)))
    if sheet.contact:
        pairs.append((f["contact"], sheet.contact))
    return pairs


def _total_text(sheet: OrderSheet, f: Fmt) -> str:
    text = f.money(sheet.total)
    return text if sheet.total_complete else f"{text} ({f['incomplete']})"


def _line_text(line: SheetLine, f: Fmt) -> str:
    price = f.money(line.line_total) if line.line_total is not None else f["to_confirm"]
    pack = f" ({line.pack})" if line.pack else ""
    return f"{f.qty(line.quantity)} {line.unit} {line.product}{pack} [{line.sku}] {price}"


def render_text(sheet: OrderSheet) -> str:
    """The plain-text alternative of the email."""
    f = Fmt(sheet.locale, sheet.currency)
    out = [title(sheet, f)]
    out += [f"{label}: {value}" for label, value in _header_pairs(sheet, f)]
    out.append("")
    for line in sheet.lines:
        out.append(f"- {_line_text(line, f)}")
        if line.flagged:
            out.append(f"    {f['chef_wrote']}: \"{line.chef_words}\"")
    out += ["", f"{f['total']}: {_total_text(sheet, f)}"]
    if sheet.not_carried:
        out += ["", f"{f['not_carried']}:"] + [f"- \"{text}\"" for text in sheet.not_carried]
    if sheet.notes:
        out += ["", f"{f['notes']}: {sheet.notes}"]
    return "\n".join(out) + "\n"


_CELL = 'style="border:1px solid #ccc;padding:4px 8px;text-align:{align}"'


def _order_table_html(sheet: OrderSheet, f: Fmt) -> str:
    e = html.escape
    head = "".join(
        f"<th {_CELL.format(align=a)}>{e(f[k])}</th>"
        for k, a in (("sku", "left"), ("product", "left"), ("pack", "left"), ("qty", "right"), ("unit", "left"),
                     ("price", "right"), ("line_total", "right"))
    )
    rows = []
    for line in sheet.lines:
        total = e(f.money(line.line_total)) if line.line_total is not None else f"<em>{e(f['to_confirm'])}</em>"
        cells = [
            (e(line.sku), "left"), (e(line.product), "left"), (e(line.pack), "left"), (e(f.qty(line.quantity)), "right"),
            (e(line.unit), "left"), (e(f.money(line.unit_price)), "right"), (total, "right"),
        ]
        rows.append("<tr>" + "".join(f"<td {_CELL.format(align=a)}>{v}</td>" for v, a in cells) + "</tr>")
        if line.flagged:
            rows.append(
                f'<tr><td colspan="7" {_CELL.format(align="left")}><small>{e(f["chef_wrote"])}: '
                f"&ldquo;{e(line.chef_words)}&rdquo;</small></td></tr>"
            )
    rows.append(
        f'<tr><td colspan="6" {_CELL.format(align="right")}><strong>{e(f["total"])}</strong></td>'
        f'<td {_CELL.format(align="right")}><strong>{e(_total_text(sheet, f))}</strong></td></tr>'
    )
    return f'<table style="border-collapse:collapse">\n<tr>{head}</tr>\n' + "\n".join(rows) + "\n</table>"


def _order_section_html(sheet: OrderSheet, f: Fmt, heading: str) -> str:
    e = html.escape
    meta = "".join(f"<tr><th align=left>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in _header_pairs(sheet, f))
    parts = [heading, f"<table>{meta}</table>", _order_table_html(sheet, f)]
    if sheet.not_carried:
        items = "".join(f"<li>&ldquo;{e(t)}&rdquo;</li>" for t in sheet.not_carried)
        parts.append(f"<p>{e(f['not_carried'])}:</p><ul>{items}</ul>")
    if sheet.notes:
        parts.append(f"<p>{e(f['notes'])}: {e(sheet.notes)}</p>")
    return "\n".join(parts)


def render_html(sheet: OrderSheet) -> str:
    f = Fmt(sheet.locale, sheet.currency)
    heading = f"<h2>{html.escape(title(sheet, f))}</h2>"
    body = _order_section_html(sheet, f, heading)
    return f'<!DOCTYPE html>\n<html><body style="font-family:sans-serif">\n{body}\n</body></html>\n'


def _safe_cell(value: str) -> str:
    # A spreadsheet runs a cell starting with these as a formula (CSV injection): make it plain text.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _csv_rows(sheet: OrderSheet) -> list[list[str]]:
    date = sheet.delivery_date.isoformat() if sheet.delivery_date else ""
    common = [sheet.reference, sheet.restaurant_name, sheet.customer_ref or "", date]
    rows = []
    for line in sheet.lines:
        rows.append(
            [
                *common, line.sku, line.product, line.pack,
                "" if line.quantity is None else plain(line.quantity), line.unit,
                "" if line.unit_price is None else money_plain(line.unit_price),
                "" if line.line_total is None else str(line.line_total), sheet.currency, line.chef_words,
                "yes" if line.flagged else "",
            ]
        )
    total = str(sheet.total) if sheet.total_complete else f"{sheet.total} (incomplete)"
    rows.append([*common, "", "TOTAL", "", "", "", "", total, sheet.currency, "", ""])
    return rows


def _csv(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow([_safe_cell(cell) for cell in row])
    # UTF-8 with a BOM so Excel opens accented product names correctly.
    return buffer.getvalue().encode("utf-8-sig")


def render_csv(sheet: OrderSheet) -> bytes:
    return _csv(_csv_rows(sheet))


def render_sms(sheet: OrderSheet) -> str:
    """A short SMS summary for suppliers who take orders by text (always within Twilio's 1,600 characters)."""
    f = Fmt(sheet.locale, sheet.currency)
    out = [subject(sheet)]
    out += [_line_text(line, f) for line in sheet.lines]
    out.append(f"{f['total']}: {_total_text(sheet, f)}")
    return fit_sms_body("\n".join(out))


# ---------------------------------------------------------------------------------------------------------
# The consolidated morning sheet.


def morning_subject(sheet: MorningSheet) -> str:
    f = Fmt(sheet.locale, sheet.currency)
    return f"{f['morning']} {f.date(sheet.delivery_date)} · {len(sheet.orders)} × {f['order'].lower()}"


def render_morning_text(sheet: MorningSheet) -> str:
    f = Fmt(sheet.locale, sheet.currency)
    parts = [f"{f['morning']} {f.date(sheet.delivery_date)}", ""]
    parts += [render_text(order) for order in sheet.orders]
    parts.append(f"{f['total']}: {f.money(sheet.total)}")
    return "\n".join(parts) + "\n"


def render_morning_html(sheet: MorningSheet) -> str:
    f = Fmt(sheet.locale, sheet.currency)
    e = html.escape
    sections = [
        _order_section_html(order, f, f"<h3>{e(order.restaurant_name)} &middot; {e(order.reference)}</h3>")
        for order in sheet.orders
    ]
    body = "\n<hr>\n".join(sections)
    return (
        f'<!DOCTYPE html>\n<html><body style="font-family:sans-serif">\n'
        f"<h2>{e(f['morning'])} {e(f.date(sheet.delivery_date))}</h2>\n{body}\n"
        f"<p><strong>{e(f['total'])}: {e(f.money(sheet.total))}</strong></p>\n</body></html>\n"
    )


def render_morning_csv(sheet: MorningSheet) -> bytes:
    return _csv([row for order in sheet.orders for row in _csv_rows(order)])
