"""Reading price lists as spreadsheets export them: separators, decimal marks, units, row-numbered errors."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from chat2order.errors import InvalidInput
from chat2order.onboarding.catalog_csv import parse_price, read_catalog, read_catalog_text, sniff_delimiter
from chat2order.onboarding.units import canonical_unit

BROKEN = Path(__file__).resolve().parents[2] / "fixtures" / "catalogs" / "broken-export.csv"


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("32.50", "32.50"), ("32,50", "32.50"), ("1.234,50", "1234.50"), ("1,234.50", "1234.50"),
        ("€ 32,50", "32.50"), ("$1,234.00", "1234.00"), ("32.50 EUR", "32.50"), ("R$ 10,00", "10.00"),
        ("1 234,5", "1234.5"), ("0", "0"), ("1.234.567", "1234567"), ("0.1875", "0.1875"),
    ],
)
def test_price_cells_in_spreadsheet_formats_become_decimals(cell: str, expected: str) -> None:
    assert parse_price(cell) == Decimal(expected)


@pytest.mark.parametrize(
    ("cell", "message"),
    [("", "missing price"), ("abc", "bad price"), ("-3,00", "negative price"), ("1,2,3.4.5", "bad price"),
     ("0.12345", "more than 4 decimals"), ("1.2.3,4,5", "bad price")],
)
def test_bad_price_cells_are_refused_with_a_reason(cell: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_price(cell)


@pytest.mark.parametrize(
    ("spelling", "unit"),
    [("KG", "kg"), ("Kgs", "kg"), ("cs", "case"), ("Caixa", "case"), ("cases", "case"), ("boxes", "case"),
     ("#", "lb"), ("lbs", "lb"), ("sacos", "bag"), ("Bunches", "bunch"), ("molho", "bunch"), ("ea", "each"),
     ("Dz.", "dozen"), ("fl oz", "fl_oz"), ("bandeja", "flat"), ("pièce", "each")],
)
def test_unit_spellings_map_to_canonical_units(spelling: str, unit: str) -> None:
    assert canonical_unit(spelling) == unit


def test_unknown_unit_spelling_is_not_guessed() -> None:
    assert canonical_unit("mãozinha") is None


@pytest.mark.parametrize(("header", "delimiter"), [
    ("sku,name,pack,unit,price", ","), ("sku;name;pack;unit;price", ";"), ("sku\tname\tpack\tunit\tprice", "\t"),
    ("SKU|Description|Pack|UOM|Unit Price", "|"),
])
def test_separator_is_sniffed_from_the_header(header: str, delimiter: str) -> None:
    assert sniff_delimiter(header + "\n") == delimiter


def test_semicolon_file_with_decimal_commas_reads_every_row() -> None:
    catalog = read_catalog_text("sku;name;pack;unit;price\nA1;Tomate, pera;kg;kg;1,60\nA2;Tomate rama;caja 6 kg;caja;8,90\n")
    assert [(r.sku, r.name, r.unit, r.price) for r in catalog.rows] == [
        ("A1", "Tomate, pera", "kg", Decimal("1.60")), ("A2", "Tomate rama", "case", Decimal("8.90"))]
    assert catalog.errors == []


def test_header_aliases_and_extra_columns_are_understood() -> None:
    text = "Item Code,Description,Pack Size,UOM,Unit Price ($),Category\nX9,LEMON 115CT,case 115,cs,$41.00,citrus\n"
    catalog = read_catalog_text(text)
    assert catalog.rows[0].sku == "X9" and catalog.rows[0].price == Decimal("41.00")
    assert catalog.ignored_columns == ("Category",)


def test_missing_pack_column_is_allowed_and_empty() -> None:
    catalog = read_catalog_text("sku,name,unit,price\nA,Apples,kg,2.00\n")
    assert catalog.rows[0].pack == ""


def test_missing_required_column_is_a_file_error_naming_it() -> None:
    with pytest.raises(InvalidInput, match="header has no price column"):
        read_catalog_text("sku,name,pack,unit\nA,Apples,kg,kg\n", "apples.csv")


def test_empty_file_is_a_file_error() -> None:
    with pytest.raises(InvalidInput, match="empty"):
        read_catalog_text("\n\n", "empty.csv")


def test_broken_export_reports_each_bad_row_by_number() -> None:
    catalog = read_catalog(BROKEN)
    assert [(e.line, e.sku) for e in catalog.errors] == [
        (6, "A-103"), (7, "A-104"), (8, "A-101"), (11, None), (12, "A-106")]
    messages = [e.message for e in catalog.errors]
    assert messages[0] == "missing price"
    assert messages[1].startswith("unknown unit 'mãozinha'")
    assert messages[2] == "duplicate sku 'A-101' (first on row 3; that row is kept)"
    assert messages[3] == "missing sku"
    assert messages[4] == "bad price 'abc'"
    assert str(catalog.errors[0]) == "broken-export.csv, row 6: missing price"


def test_broken_export_keeps_its_good_rows_normalised() -> None:
    catalog = read_catalog(BROKEN)
    assert catalog.delimiter == ";"
    assert [(r.line, r.sku, r.unit, r.price) for r in catalog.rows] == [
        (2, "A-100", "case", Decimal("9.50")), (3, "A-101", "kg", Decimal("1.69")),
        (5, "A-102", "bag", Decimal("1234.50")), (10, "A-105", "kg", Decimal("2.10"))]
    assert catalog.mentioned_skus == {"A-100", "A-101", "A-102", "A-103", "A-104", "A-105", "A-106"}


def test_windows_1252_export_is_decoded(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes("sku;name;pack;unit;price\nF1;Crème fraîche;pot 1 kg;kg;5,20\n".encode("cp1252"))
    catalog = read_catalog(path)
    assert catalog.encoding == "cp1252" and catalog.rows[0].name == "Crème fraîche"


def test_row_numbers_count_a_quoted_multiline_cell_as_spreadsheet_rows() -> None:
    text = 'sku,name,pack,unit,price\nA,"Apples\nGala",kg,kg,2.00\nB,Pears,kg,kg,\n'
    catalog = read_catalog_text(text)
    assert [(e.line, e.message) for e in catalog.errors] == [(4, "missing price")]


def test_too_long_sku_is_a_row_error_not_a_database_failure() -> None:
    catalog = read_catalog_text(f"sku,name,pack,unit,price\n{'X' * 65},Apples,kg,kg,1.00\n")
    assert catalog.errors[0].message == "sku longer than 64 characters"
