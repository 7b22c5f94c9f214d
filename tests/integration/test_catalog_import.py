"""Catalog import on PostgreSQL and on SQLite: dev catalogs, a broken export, re-import semantics, one
transaction, dry runs, and the CLI's report."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from chat2order import tables
from chat2order.cli import main
from chat2order.onboarding import catalog_import
from chat2order.onboarding.catalog_import import import_catalog
from tests import factories
from tests.paths import DEV

DEV_CATALOGS = sorted((DEV / "catalogs").glob("*.csv"))
BROKEN = Path(__file__).resolve().parents[2] / "fixtures" / "catalogs" / "broken-export.csv"


@pytest.fixture(params=["postgresql", "sqlite"])
def maker(request: pytest.FixtureRequest) -> sessionmaker[Session]:
    return request.getfixturevalue("committed_pg" if request.param == "postgresql" else "sqlite_sessionmaker")


def _write(path: Path, rows: list[tuple[str, str, str, str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sku", "name", "pack", "unit", "price"])
        writer.writerows(rows)
    return path


def _items(maker: sessionmaker[Session], supplier_id: int) -> dict[str, tables.CatalogItem]:
    with maker() as session:
        return {i.sku: i for i in session.scalars(select(tables.CatalogItem).where(tables.CatalogItem.supplier_id == supplier_id))}


@pytest.mark.parametrize("path", DEV_CATALOGS, ids=lambda p: p.stem)
def test_every_dev_catalog_imports_all_its_rows(maker: sessionmaker[Session], path: Path) -> None:
    supplier = factories.SupplierFactory()
    with path.open(encoding="utf-8") as handle:
        expected = {row["sku"]: row for row in csv.DictReader(handle)}

    result = import_catalog(maker, supplier.slug, path)

    assert (result.errors, result.created, result.rows) == ([], len(expected), len(expected))
    items = _items(maker, supplier.id)
    assert set(items) == set(expected)
    assert all(items[sku].price == Decimal(row["price"]) and items[sku].unit == row["unit"] for sku, row in expected.items())


def test_reimporting_the_same_file_changes_nothing(maker: sessionmaker[Session]) -> None:
    supplier = factories.SupplierFactory()
    import_catalog(maker, supplier.slug, DEV_CATALOGS[0])
    before = {sku: item.updated_at for sku, item in _items(maker, supplier.id).items()}

    result = import_catalog(maker, supplier.slug, DEV_CATALOGS[0])

    assert (result.created, result.updated, result.deactivated, result.unchanged) == (0, 0, 0, len(before))
    assert {sku: item.updated_at for sku, item in _items(maker, supplier.id).items()} == before


def test_broken_export_imports_good_rows_and_reports_bad_ones(maker: sessionmaker[Session]) -> None:
    supplier = factories.SupplierFactory()

    result = import_catalog(maker, supplier.slug, BROKEN)

    assert [(e.line, e.sku) for e in result.errors] == [(6, "A-103"), (7, "A-104"), (8, "A-101"), (11, None), (12, "A-106")]
    items = _items(maker, supplier.id)
    assert sorted(items) == ["A-100", "A-101", "A-102", "A-105"]
    assert items["A-102"].price == Decimal("1234.50") and items["A-102"].unit == "bag"
    assert items["A-101"].price == Decimal("1.69")  # the first of the duplicate rows


def test_reimport_updates_prices_deactivates_missing_skus_and_keeps_past_lines(
    maker: sessionmaker[Session], tmp_path: Path
) -> None:
    supplier = factories.SupplierFactory()
    import_catalog(maker, supplier.slug, _write(tmp_path / "v1.csv", [
        ("A", "Apples Gala", "kg", "kg", "2.00"), ("B", "Beets", "10 lb bag", "bag", "9.00"),
        ("C", "Carrots", "kg", "kg", "1.10")]))
    beets = _items(maker, supplier.id)["B"]
    line = factories.OrderLineFactory(order__supplier=supplier, item=beets)

    result = import_catalog(maker, supplier.slug, _write(tmp_path / "v2.csv", [
        ("A", "Apples Gala", "kg", "kg", "2.40"), ("C", "Carrots", "kg", "kg", "1.10"),
        ("D", "Dill", "bunch", "bunch", "1.50")]))

    assert (result.created, result.updated, result.deactivated, result.unchanged) == (1, 1, 1, 1)
    items = _items(maker, supplier.id)
    assert items["A"].price == Decimal("2.40") and items["B"].active is False and items["D"].active is True
    with maker() as session:
        kept = session.get(tables.OrderLine, line.id)
        assert kept is not None and kept.catalog_item_id == beets.id and kept.item.sku == "B"


def test_a_returning_sku_is_reactivated(maker: sessionmaker[Session], tmp_path: Path) -> None:
    supplier = factories.SupplierFactory()
    import_catalog(maker, supplier.slug, _write(tmp_path / "v1.csv", [("A", "Apples", "kg", "kg", "2.00"), ("B", "Beets", "kg", "kg", "1.00")]))
    import_catalog(maker, supplier.slug, _write(tmp_path / "v2.csv", [("A", "Apples", "kg", "kg", "2.00")]))

    result = import_catalog(maker, supplier.slug, _write(tmp_path / "v3.csv", [("A", "Apples", "kg", "kg", "2.00"), ("B", "Beets", "kg", "kg", "1.20")]))

    assert (result.reactivated, result.unchanged) == (1, 1)
    beets = _items(maker, supplier.id)["B"]
    assert beets.active is True and beets.price == Decimal("1.20")


def test_a_sku_on_a_bad_row_keeps_its_values_and_stays_active(maker: sessionmaker[Session], tmp_path: Path) -> None:
    supplier = factories.SupplierFactory()
    import_catalog(maker, supplier.slug, _write(tmp_path / "v1.csv", [("A", "Apples", "kg", "kg", "2.00"), ("B", "Beets", "kg", "kg", "1.00")]))

    result = import_catalog(maker, supplier.slug, _write(tmp_path / "v2.csv", [("A", "Apples", "kg", "kg", "2.00"), ("B", "Beets", "kg", "kg", "n/a")]))

    assert result.deactivated == 0 and [e.line for e in result.errors] == [3]
    beets = _items(maker, supplier.id)["B"]
    assert beets.active is True and beets.price == Decimal("1.00")


def test_a_failure_half_way_leaves_the_catalog_as_it_was(
    maker: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    supplier = factories.SupplierFactory()
    import_catalog(maker, supplier.slug, _write(tmp_path / "v1.csv", [("A", "Apples", "kg", "kg", "2.00")]))
    real = catalog_import._batches

    def fail_on_third_batch(items: Any, size: int = 1) -> Iterator[Any]:
        for number, chunk in enumerate(real(items, 1)):
            if number == 2:
                raise RuntimeError("connection lost")
            yield chunk

    monkeypatch.setattr(catalog_import, "_batches", fail_on_third_batch)
    with pytest.raises(RuntimeError, match="connection lost"):
        import_catalog(maker, supplier.slug, _write(tmp_path / "v2.csv", [
            ("A", "Apples", "kg", "kg", "9.99"), ("B", "Beets", "kg", "kg", "1.00"), ("C", "Chard", "bunch", "bunch", "2.00"),
            ("D", "Dill", "bunch", "bunch", "1.50")]))

    items = _items(maker, supplier.id)
    assert list(items) == ["A"] and items["A"].price == Decimal("2.00")


def test_dry_run_counts_but_writes_nothing(maker: sessionmaker[Session]) -> None:
    supplier = factories.SupplierFactory()

    result = import_catalog(maker, supplier.slug, BROKEN, dry_run=True)

    assert (result.created, result.written, len(result.errors)) == (4, False, 5)
    assert _items(maker, supplier.id) == {}


def test_strict_import_writes_nothing_when_a_row_is_bad(maker: sessionmaker[Session]) -> None:
    supplier = factories.SupplierFactory()

    result = import_catalog(maker, supplier.slug, BROKEN, strict=True)

    assert result.written is False and _items(maker, supplier.id) == {}


def test_import_for_an_unknown_supplier_is_a_clear_error(sqlite_sessionmaker: sessionmaker[Session], sqlite_url: str) -> None:
    result = CliRunner().invoke(main, ["catalog", "import", "nobody", str(BROKEN)], env={"DATABASE_URL": sqlite_url})
    assert result.exit_code == 1
    assert "no supplier 'nobody'" in result.output and "Traceback" not in result.output


def test_cli_import_reports_rejected_rows_and_exits_2(sqlite_sessionmaker: sessionmaker[Session], sqlite_url: str) -> None:
    supplier = factories.SupplierFactory()

    result = CliRunner().invoke(main, ["catalog", "import", supplier.slug, str(BROKEN), "--quiet"],
                                env={"DATABASE_URL": sqlite_url})

    assert result.exit_code == 2
    assert "broken-export.csv, row 7: unknown unit 'mãozinha'" in result.output
    assert f"imported 4 rows for {supplier.slug}: 4 new" in result.output


def test_cli_import_json_gives_counts_and_errors(sqlite_sessionmaker: sessionmaker[Session], sqlite_url: str) -> None:
    supplier = factories.SupplierFactory()

    result = CliRunner().invoke(main, ["catalog", "import", supplier.slug, str(DEV_CATALOGS[0]), "--json"],
                                env={"DATABASE_URL": sqlite_url})

    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["created"] == report["rows"] > 100 and report["errors"] == [] and report["written"] is True


def test_cli_export_writes_the_import_format_back(sqlite_sessionmaker: sessionmaker[Session], sqlite_url: str) -> None:
    supplier = factories.SupplierFactory()
    runner = CliRunner()
    runner.invoke(main, ["catalog", "import", supplier.slug, str(DEV_CATALOGS[0]), "-q"], env={"DATABASE_URL": sqlite_url})

    result = runner.invoke(main, ["catalog", "export", supplier.slug], env={"DATABASE_URL": sqlite_url})

    assert result.output.splitlines() == DEV_CATALOGS[0].read_text(encoding="utf-8").splitlines()
