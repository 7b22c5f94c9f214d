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
from fpdf.enums import MethodReturnValue

from chat2order.ordering.sheets import Fmt, MorningSheet, OrderSheet, title

_FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"), Path("/usr/local/share/fonts"))
_COL_WIDTHS = (22, 52, 26, 14, 14, 26, 26)
_ALIGN = ("L", "L", "L", "R", "L", "R", "R")
_LINE_H, _PAD = 5, 1  # mm; _PAD is FPDF's default cell margin
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

    def table_row(self, cells: list[tuple[str, float, str]], head: list[tuple[str, float, str]] | None = None,
                  bold: bool = False) -> None:
        """One bordered table row of (text, width, align) cells; text wraps inside its cell when it must.

        Drawn by hand rather than with `FPDF.table`, which lays out every cell twice with `multi_cell`
        (~17 ms for a 4-line sheet against ~5 ms here): most cells fit on one line, measured with the
        font's widths, and only the others are wrapped. On a new page the `head` row is drawn again."""
        self.set_font(self.family, "B" if bold else "", 9)
        lines = [
            [text] if self.get_string_width(text) <= width - 2 * _PAD
            else self.multi_cell(width, _LINE_H, text, dry_run=True, output=MethodReturnValue.LINES)
            for text, width, _ in cells
        ]
        height = max(max(len(cell_lines), 1) for cell_lines in lines) * _LINE_H + 2 * _PAD
        if self.will_page_break(height):
            self.add_page()
            if head is not None:
                self.table_row(head, bold=True)
                self.set_font(self.family, "B" if bold else "", 9)
        x, y = self.l_margin, self.get_y()
        for (text, width, align), cell_lines in zip(cells, lines, strict=True):
            self.rect(x, y, width, height)
            if len(cell_lines) == 1:  # `text` draws one line at a point: ~15x cheaper than `cell`
                left = x + width - _PAD - self.get_string_width(text) if align == "R" else x + _PAD
                self.text(left, y + _PAD + _LINE_H / 2 + 0.3 * self.font_size, text)
            else:  # its own cell margin (`c_margin`, 1 mm) pads the text as `_PAD` does on one line
                self.set_xy(x, y + _PAD)
                self.multi_cell(width, _LINE_H, text, align=align)
            x += width
        self.set_xy(self.l_margin, y + height)

    def paragraph(self, text: str, height: float) -> None:
        """A line of text across the page, wrapped only when it does not fit (see `table_row` for why)."""
        if self.get_string_width(text) > self.epw or self.will_page_break(height):
            self.multi_cell(0, height, text, new_x="LMARGIN", new_y="NEXT")
            return
        y = self.get_y()
        self.text(self.l_margin, y + height / 2 + 0.3 * self.font_size, text)
        self.set_xy(self.l_margin, y + height)

    def write_order(self, sheet: OrderSheet, f: Fmt, heading: str) -> None:
        t = self.text_of
        self.set_font(self.family, "B", 13)
        self.paragraph(t(heading), 7)
        self.set_font(self.family, "", 9)
        meta = [(f["restaurant"], sheet.restaurant_name)]
        if sheet.customer_ref:
            meta.append((f["account"], sheet.customer_ref))
        meta.append((f["delivery"], f.date(sheet.delivery_date)))
        if sheet.contact:
            meta.append((f["contact"], sheet.contact))
        for label, value in meta:
            self.paragraph(t(f"{label}: {value}"), 5)
        self.ln(2)
        headings = [t(f[k]) for k in ("sku", "product", "pack", "qty", "unit", "price", "line_total")]
        head = list(zip(headings, _COL_WIDTHS, _ALIGN, strict=True))
        self.table_row(head, bold=True)
        for line in sheet.lines:
            total = f.money(line.line_total) if line.line_total is not None else f["to_confirm"]
            texts = [line.sku, line.product, line.pack, f.qty(line.quantity), line.unit, f.money(line.unit_price), total]
            self.table_row([(t(x), w, a) for x, w, a in zip(texts, _COL_WIDTHS, _ALIGN, strict=True)], head)
            if line.flagged:
                self.table_row([(t(f'{f["chef_wrote"]}: "{line.chef_words}"'), sum(_COL_WIDTHS), "L")], head)
        total_text = f.money(sheet.total) + ("" if sheet.total_complete else f" ({f['incomplete']})")
        self.table_row([(t(f["total"]), sum(_COL_WIDTHS[:-1]), "R"), (t(total_text), _COL_WIDTHS[-1], "R")], head)
        if sheet.not_carried:
            self.ln(2)
            self.paragraph(t(f["not_carried"] + ":"), 5)
            for text in sheet.not_carried:
                self.paragraph(t(f'  - "{text}"'), 5)
        if sheet.notes:
            self.ln(2)
            self.paragraph(t(f"{f['notes']}: {sheet.notes}"), 5)


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
        pdf.paragraph(pdf.text_of(heading), 8)
        for order in sheet.orders:
            pdf.ln(4)
            pdf.write_order(order, f, f"{order.restaurant_name} · {order.reference}")
        pdf.ln(4)
        pdf.set_font(pdf.family, "B", 11)
        pdf.paragraph(pdf.text_of(f"{f['total']}: {f.money(sheet.total)}"), 6)

    return _render(draw)
