"""The order sheet as a PDF (fpdf2): one table per order, the chef's words under flagged lines.

Most sheets (en, pt, fr, it, es text, prices in € $ £) fit the Windows-1252 code page, so they use the
built-in Helvetica with that encoding: no font to embed, about 4x faster than a TrueType font. A sheet with
anything else (emoji, Greek, CJK in a chef's words) is drawn again with DejaVu Sans embedded when the
machine has it, or with the unprintable characters replaced by "?" when it does not. Never fails.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

from fpdf import FPDF
from fpdf.fonts import FontFace

from chat2order.ordering.sheets import Fmt, MorningSheet, OrderSheet, title

_FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"), Path("/usr/local/share/fonts"))
_COL_WIDTHS = (22, 52, 26, 14, 14, 26, 26)
_CORE_ENCODING = "windows-1252"


class _NeedsUnicode(Exception):
    """Some text does not fit the core fonts' code page."""


@functools.lru_cache(maxsize=1)
def _unicode_font() -> tuple[Path, Path] | None:
    for folder in _FONT_DIRS:
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if regular.exists() and bold.exists():
            return regular, bold
    return None


class _Pdf(FPDF):
    def __init__(self, mode: str) -> None:
        """`mode`: "core" (raise _NeedsUnicode on other text), "unicode" (embed DejaVu), "replace" (core, "?")."""
        super().__init__(format="A4")
        self.set_auto_page_break(auto=True, margin=15)
        self.set_creator("chat2order")
        self.mode = mode
        self.core_fonts_encoding = _CORE_ENCODING
        font = _unicode_font() if mode == "unicode" else None
        if font is not None:
            self.add_font("Sheet", "", str(font[0]))
            self.add_font("Sheet", "B", str(font[1]))
            self.family = "Sheet"
        else:
            self.family = "Helvetica"
            self.mode = "core" if mode == "core" else "replace"

    def text_of(self, value: str) -> str:
        if self.family == "Sheet":
            return value
        try:
            value.encode(_CORE_ENCODING)
            return value
        except UnicodeEncodeError:
            if self.mode == "core":
                raise _NeedsUnicode from None
            return value.encode(_CORE_ENCODING, "replace").decode(_CORE_ENCODING)

    def write_order(self, sheet: OrderSheet, f: Fmt, heading: str) -> None:
        t = self.text_of
        self.set_font(self.family, "B", 13)
        self.multi_cell(0, 7, t(heading), new_x="LMARGIN", new_y="NEXT")
        self.set_font(self.family, "", 9)
        meta = [(f["restaurant"], sheet.restaurant_name)]
        if sheet.customer_ref:
            meta.append((f["account"], sheet.customer_ref))
        meta.append((f["delivery"], f.date(sheet.delivery_date)))
        if sheet.contact:
            meta.append((f["contact"], sheet.contact))
        for label, value in meta:
            self.multi_cell(0, 5, t(f"{label}: {value}"), new_x="LMARGIN", new_y="NEXT")
        self.ln(2)
        headings = [f[k] for k in ("sku", "product", "pack", "qty", "unit", "price", "line_total")]
        with self.table(
            col_widths=_COL_WIDTHS,
            text_align=("LEFT", "LEFT", "LEFT", "RIGHT", "LEFT", "RIGHT", "RIGHT"),
            headings_style=FontFace(emphasis="BOLD"),
            line_height=5,
            padding=1,
        ) as table:
            table.row([t(h) for h in headings])
            for line in sheet.lines:
                total = f.money(line.line_total) if line.line_total is not None else f["to_confirm"]
                table.row(
                    [
                        t(line.sku), t(line.product), t(line.pack), t(f.qty(line.quantity)), t(line.unit),
                        t(f.money(line.unit_price)), t(total),
                    ]
                )
                if line.flagged:
                    row = table.row()
                    row.cell(t(f'{f["chef_wrote"]}: "{line.chef_words}"'), colspan=7, align="LEFT")
            row = table.row()
            row.cell(t(f["total"]), colspan=6, align="RIGHT")
            total_text = f.money(sheet.total) + ("" if sheet.total_complete else f" ({f['incomplete']})")
            row.cell(t(total_text), align="RIGHT")
        if sheet.not_carried:
            self.ln(2)
            self.multi_cell(0, 5, t(f["not_carried"] + ":"), new_x="LMARGIN", new_y="NEXT")
            for text in sheet.not_carried:
                self.multi_cell(0, 5, t(f'  - "{text}"'), new_x="LMARGIN", new_y="NEXT")
        if sheet.notes:
            self.ln(2)
            self.multi_cell(0, 5, t(f"{f['notes']}: {sheet.notes}"), new_x="LMARGIN", new_y="NEXT")


def _render(draw: Callable[[_Pdf], None]) -> bytes:
    for mode in ("core", "unicode"):
        pdf = _Pdf(mode)
        try:
            draw(pdf)
        except _NeedsUnicode:
            continue
        return bytes(pdf.output())
    raise AssertionError("unreachable: the unicode mode never raises _NeedsUnicode")


def render_pdf(sheet: OrderSheet) -> bytes:
    f = Fmt(sheet.locale, sheet.currency)

    def draw(pdf: _Pdf) -> None:
        pdf.set_title(f"{f['order']} {sheet.reference}")
        pdf.add_page()
        pdf.write_order(sheet, f, f"{sheet.supplier_name} · {title(sheet, f)}")

    return _render(draw)


def render_morning_pdf(sheet: MorningSheet) -> bytes:
    f = Fmt(sheet.locale, sheet.currency)

    def draw(pdf: _Pdf) -> None:
        pdf.set_title(f"{f['morning']} {sheet.delivery_date.isoformat()}")
        pdf.add_page()
        pdf.set_font(pdf.family, "B", 15)
        heading = f"{sheet.supplier_name} · {f['morning']} {f.date(sheet.delivery_date)}"
        pdf.multi_cell(0, 8, pdf.text_of(heading), new_x="LMARGIN", new_y="NEXT")
        for order in sheet.orders:
            pdf.ln(4)
            pdf.write_order(order, f, f"{order.restaurant_name} · {order.reference}")
        pdf.ln(4)
        pdf.set_font(pdf.family, "B", 11)
        pdf.multi_cell(0, 6, pdf.text_of(f"{f['total']}: {f.money(sheet.total)}"), new_x="LMARGIN", new_y="NEXT")

    return _render(draw)
