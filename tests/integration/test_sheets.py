"""The supplier's order sheet: HTML, text, CSV, PDF and SMS renderings, and the consolidated morning sheet."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from chat2order.notify import SMS_MAX_CHARS
from chat2order.ordering import sheets
from chat2order.ordering.morning import due_morning_sheets
from chat2order.ordering.sheet_pdf import _unicode_font, render_morning_pdf, render_pdf
from chat2order.tables import Order
from tests import factories as f


def _order(db: Session, *, lines: int = 2, locale: str = "en-US", currency: str = "USD", **changes: object) -> Order:
    supplier = f.SupplierFactory(locale=locale, currency=currency, order_email="orders@supplier.example")
    order = f.OrderFactory(supplier=supplier, status="confirmed", delivery_date=dt.date(2026, 12, 1), **changes)
    for n in range(lines):
        item = f.CatalogItemFactory(supplier=supplier, unit="case", pack="25 lb case", price=Decimal("32.50"))
        f.OrderLineFactory(order=order, item=item, unit=None, quantity=Decimal(n + 1), unit_price=item.price,
                           needs_review=False, confidence=1.0, candidates=[], text=f"{n + 1} cs item {n}")
    db.refresh(order)
    return order


def _csv_rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def test_the_sheet_carries_sku_pack_quantity_price_line_totals_and_total(db: Session) -> None:
    sheet = sheets.sheet_for(db, _order(db))
    assert [(l.quantity, l.pack, l.unit_price, l.line_total) for l in sheet.lines] == [
        (Decimal(1), "25 lb case", Decimal("32.50"), Decimal("32.50")),
        (Decimal(2), "25 lb case", Decimal("32.50"), Decimal("65.00")),
    ]
    assert (sheet.total, sheet.total_complete) == (Decimal("97.50"), True)


def test_the_sheet_names_the_restaurant_its_account_and_the_delivery_date(db: Session) -> None:
    order = _order(db)
    f.AccountFactory(restaurant=order.restaurant, supplier=order.supplier, customer_ref="C-12345")
    text = sheets.render_text(sheets.sheet_for(db, order))
    assert order.restaurant.name in text
    assert "C-12345" in text
    assert "Tuesday, December 1, 2026" in text


def test_flagged_lines_show_the_chefs_own_words(db: Session) -> None:
    order = _order(db, lines=1)
    order.lines[0].needs_review = True
    order.lines[0].text = "a box of the good tomatoes"
    html = sheets.render_html(sheets.sheet_for(db, order))
    assert "a box of the good tomatoes" in html


def test_a_line_whose_price_cannot_be_worked_out_says_so_and_marks_the_total_incomplete(db: Session) -> None:
    order = _order(db, lines=1)
    order.lines[0].unit = "bunch"  # no conversion from bunches to a 25 lb case
    sheet = sheets.sheet_for(db, order)
    assert sheet.total_complete is False
    assert "price to confirm" in sheets.render_text(sheet)


def test_lines_the_supplier_does_not_carry_are_listed_apart(db: Session) -> None:
    order = _order(db, lines=1)
    f.OrderLineFactory(order=order, item=None, catalog_item_id=None, needs_review=False, text="2 kg truffles",
                       unit_price=None, unit=None)
    db.refresh(order)
    sheet = sheets.sheet_for(db, order)
    assert (len(sheet.lines), sheet.not_carried) == (1, ("2 kg truffles",))


def test_labels_and_money_follow_the_suppliers_locale(db: Session) -> None:
    text = sheets.render_text(sheets.sheet_for(db, _order(db, locale="fr-FR", currency="EUR")))
    assert "Livraison: mardi 1 décembre 2026" in text
    assert "97,50\u00a0€" in text


def test_the_chefs_words_are_escaped_in_html(db: Session) -> None:
    order = _order(db, lines=1)
    order.lines[0].needs_review = True
    order.lines[0].text = '<img src=x onerror="alert(1)">'
    html = sheets.render_html(sheets.sheet_for(db, order))
    assert "<img" not in html
    assert "&lt;img" in html


def test_csv_has_one_row_per_line_and_a_total_row(db: Session) -> None:
    rows = _csv_rows(sheets.render_csv(sheets.sheet_for(db, _order(db))))
    assert [(r["quantity"], r["unit_price"], r["line_total"]) for r in rows] == [
        ("1", "32.50", "32.50"), ("2", "32.50", "65.00"), ("", "", "97.50")
    ]
    assert rows[-1]["product"] == "TOTAL"


def test_csv_cells_a_spreadsheet_would_run_as_formulas_are_neutralised(db: Session) -> None:
    order = _order(db, lines=1)
    order.lines[0].text = '=HYPERLINK("http://evil","click")'
    [line, _total] = _csv_rows(sheets.render_csv(sheets.sheet_for(db, order)))
    assert line["chef_wrote"].startswith("'=")


def test_pdf_renders_accents_the_euro_sign_and_emoji_without_failing(db: Session) -> None:
    order = _order(db, lines=1, locale="pt-PT", currency="EUR")
    order.lines[0].needs_review = True
    order.lines[0].text = "2 cx de limões 🍋 já"
    pdf = render_pdf(sheets.sheet_for(db, order))
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")


def test_pdf_of_a_latin_sheet_with_the_euro_sign_uses_the_built_in_font(db: Session) -> None:
    order = _order(db, lines=1, locale="fr-FR", currency="EUR")
    order.lines[0].needs_review = True
    order.lines[0].text = "2 cx de pêches à 3€"
    pdf = render_pdf(sheets.sheet_for(db, order))
    assert b"/Helvetica" in pdf and b"/FontFile2" not in pdf


def test_pdf_embeds_a_unicode_font_only_when_the_text_needs_it(db: Session) -> None:
    order = _order(db, lines=1)
    order.lines[0].needs_review = True
    order.lines[0].text = "3 κιλά ντομάτες"
    if _unicode_font() is None:
        pytest.skip("no DejaVu Sans on this machine (the PDF then replaces such characters)")
    assert b"/FontFile2" in render_pdf(sheets.sheet_for(db, order))


def test_sms_summary_lists_the_lines_and_the_total(db: Session) -> None:
    sms = sheets.render_sms(sheets.sheet_for(db, _order(db)))
    assert sms.count("[SKU-") == 2
    assert sms.endswith("Total: $97.50")


@settings(max_examples=40, deadline=None)
@given(words=st.lists(st.text(min_size=0, max_size=300), min_size=0, max_size=120),
       name=st.text(min_size=0, max_size=400))
def test_sms_summary_stays_within_twilios_limit_whatever_the_order(words: list[str], name: str) -> None:
    line = sheets.SheetLine(sku="SKU-1", product=name, pack="case", quantity=Decimal(3), unit="case",
                            unit_price=Decimal("9.99"), line_total=Decimal("29.97"), chef_words="", flagged=False)
    sheet = sheets.OrderSheet(
        order_id=1, reference="C2O-1", supplier_name="S", restaurant_name=name, customer_ref=None, contact="",
        delivery_date=None, placed_at=dt.datetime.now(dt.UTC), currency="USD", locale="en-US",
        lines=tuple(line for _ in words), total=Decimal(1), total_complete=True,
    )
    assert len(sheets.render_sms(sheet)) <= SMS_MAX_CHARS


def test_morning_sheet_is_written_once_a_day_after_its_time_with_every_restaurants_orders(db: Session) -> None:
    supplier = f.SupplierFactory(timezone="Europe/Lisbon", morning_sheet_at=dt.time(5, 0), order_email="o@s.example")
    for _ in range(2):
        order = f.OrderFactory(supplier=supplier, status="confirmed", delivery_date=dt.date(2026, 12, 1))
        f.OrderLineFactory(order=order, item__supplier=supplier)
    f.OrderFactory(supplier=supplier, status="awaiting_chef", delivery_date=dt.date(2026, 12, 1))
    before = dt.datetime(2026, 12, 1, 4, 59, tzinfo=dt.UTC)
    after = dt.datetime(2026, 12, 1, 5, 1, tzinfo=dt.UTC)
    assert due_morning_sheets(db, before) == []
    [row] = due_morning_sheets(db, after)
    assert due_morning_sheets(db, after + dt.timedelta(hours=2)) == []
    assert (row.recipient, row.purpose) == ("o@s.example", "morning_sheet")
    assert len(_csv_rows(base64.b64decode(row.attachments[0]["data_b64"]))) == 4  # 2 lines + 2 totals


def test_no_morning_sheet_on_a_day_without_orders(db: Session) -> None:
    f.SupplierFactory(timezone="UTC", morning_sheet_at=dt.time(5, 0), order_email="o@s.example")
    assert due_morning_sheets(db, dt.datetime(2026, 12, 1, 6, 0, tzinfo=dt.UTC)) == []


def test_morning_pdf_renders(db: Session) -> None:
    order = _order(db)
    sheet = sheets.MorningSheet(supplier_name="S", delivery_date=dt.date(2026, 12, 1), currency="USD",
                                locale="en-US", orders=(sheets.sheet_for(db, order),))
    assert render_morning_pdf(sheet).startswith(b"%PDF-")


def _pdf_text(pdf: bytes) -> list[str]:
    from pypdf import PdfReader

    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def test_the_pdf_shows_every_line_with_its_price_and_the_total_in_order(db: Session) -> None:
    order = _order(db, lines=3)
    sheet = sheets.sheet_for(db, order)
    [text] = _pdf_text(render_pdf(sheet))

    assert order.restaurant.name in text and "Tuesday, December 1, 2026" in text
    positions = [text.index(line.sku) for line in sheet.lines]
    assert positions == sorted(positions)
    for line, expected_total in zip(sheet.lines, ("$32.50", "$65.00", "$97.50"), strict=True):
        row = text[text.index(line.sku):].splitlines()[0]
        assert line.pack in row and row.endswith(expected_total), row
    assert "$195.00" in text.split(sheet.lines[-1].sku)[1]  # the order total, after the last line


def test_a_long_pdf_sheet_runs_onto_more_pages_and_loses_no_line(db: Session) -> None:
    sheet = sheets.sheet_for(db, _order(db, lines=70))
    pages = _pdf_text(render_pdf(sheet))
    assert len(pages) > 1
    everything = "\n".join(pages)
    assert all(line.sku in everything for line in sheet.lines)
    assert "$80,762.50" in everything.split(sheet.lines[-1].sku)[1]  # 32.50 × (1 + … + 70), after the last line


def test_a_flagged_line_shows_the_chefs_words_in_the_pdf(db: Session) -> None:
    order = _order(db, lines=1, locale="fr-FR", currency="EUR")
    order.lines[0].needs_review = True
    order.lines[0].text = "2 cx de pêches à 3€"
    [text] = _pdf_text(render_pdf(sheets.sheet_for(db, order)))
    assert "2 cx de pêches à 3€" in text


def test_a_cell_too_long_for_its_column_wraps_inside_it_and_keeps_every_word(db: Session) -> None:
    order = _order(db, lines=2)
    order.lines[0].item.name = "Heirloom tomatoes mixed colours extra large hand picked organic from the valley"
    order.lines[0].needs_review = True
    order.lines[0].text = " ".join(["two cases of the big ones like last week please"] * 4)
    sheet = sheets.sheet_for(db, order)
    [text] = _pdf_text(render_pdf(sheet))

    words = " ".join(text.split())
    for phrase in (sheet.lines[0].product, sheet.lines[0].chef_words):
        assert all(word in words for word in phrase.split())
    assert text.index(sheet.lines[0].sku) < text.index(sheet.lines[1].sku)
    assert "Total $97.50" in text.split(sheet.lines[1].sku)[1]  # the total row still closes the table


def test_each_page_of_a_long_sheet_starts_its_table_with_the_column_headings(db: Session) -> None:
    pages = _pdf_text(render_pdf(sheets.sheet_for(db, _order(db, lines=70))))
    assert len(pages) > 1
    with_lines = [page for page in pages if "SKU-" in page]
    assert len(with_lines) > 1 and all("Line total" in page for page in with_lines)
