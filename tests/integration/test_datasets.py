"""Loading a benchmark-format dataset folder: the dev set on PostgreSQL and SQLite, idempotently, never
reading gold.jsonl."""

from __future__ import annotations

import builtins
import datetime as dt
import json
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from chat2order import tables
from chat2order.cli import main
from chat2order.onboarding.datasets import bench_phone, load_dataset
from tests.paths import DEV


def _count(maker: sessionmaker[Session], model: Any, *where: Any) -> int:
    with maker() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def _dev_orders() -> list[dict[str, Any]]:
    return [json.loads(line) for line in (DEV / "orders.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]


def test_dev_dataset_loads_every_supplier_item_restaurant_and_past_order(committed_pg: sessionmaker[Session]) -> None:
    orders = _dev_orders()

    loaded = load_dataset(committed_pg, DEV)

    assert (len(loaded.suppliers), len(loaded.restaurants), len(loaded.contacts)) == (6, 18, 18)
    assert _count(committed_pg, tables.CatalogItem) == 1164
    assert _count(committed_pg, tables.Order, tables.Order.status == "dispatched") == len(orders) == loaded.orders_created
    assert _count(committed_pg, tables.OrderLine) == sum(len(o["lines"]) for o in orders) == loaded.lines_created
    assert loaded.warnings == []


def test_loading_twice_changes_nothing(committed_pg: sessionmaker[Session]) -> None:
    first = load_dataset(committed_pg, DEV)

    second = load_dataset(committed_pg, DEV)

    assert (second.orders_created, second.accounts_created, second.orders_existing) == (0, 0, first.orders_created)
    assert second.suppliers == first.suppliers and second.contacts == first.contacts
    assert _count(committed_pg, tables.Order) == first.orders_created
    assert _count(committed_pg, tables.Contact) == 18
    assert all(r.unchanged == r.rows for r in second.catalogs.values())


def test_timezones_come_from_the_locale(committed_pg: sessionmaker[Session]) -> None:
    loaded = load_dataset(committed_pg, DEV)
    with committed_pg() as session:
        assert session.get(tables.Restaurant, loaded.restaurants["r-bistro-luz"]).timezone == "Europe/Lisbon"
        assert session.get(tables.Restaurant, loaded.restaurants["r-harbor-sushi"]).timezone == "America/New_York"
        supplier = session.get(tables.Supplier, loaded.suppliers["s-thames-meat-fish"])
        assert (supplier.timezone, supplier.currency, supplier.locale) == ("Europe/London", "GBP", "en-GB")


def test_each_restaurant_has_an_account_with_the_suppliers_it_orders_from(committed_pg: sessionmaker[Session]) -> None:
    loaded = load_dataset(committed_pg, DEV)
    pairs = {(o["restaurant"], o["supplier"]) for o in _dev_orders()}
    with committed_pg() as session:
        accounts = set(session.execute(select(tables.Account.restaurant_id, tables.Account.supplier_id)).all())
    assert {(loaded.restaurants[r], loaded.suppliers[s]) for r, s in pairs} <= accounts
    assert {r for r, _ in accounts} == set(loaded.restaurants.values())


def test_each_restaurant_gets_one_chef_contact_to_attribute_messages(committed_pg: sessionmaker[Session]) -> None:
    loaded = load_dataset(committed_pg, DEV)
    with committed_pg() as session:
        chef = session.get(tables.Contact, loaded.contacts["r-tasca-do-ze"])
    assert chef.restaurant_id == loaded.restaurants["r-tasca-do-ze"]
    assert chef.phone == bench_phone("r-tasca-do-ze") == loaded.contact_phones["r-tasca-do-ze"]
    assert chef.email == "chef@r-tasca-do-ze.bench.invalid" and chef.role == "chef"


def test_past_orders_keep_their_time_lines_and_prices(committed_pg: sessionmaker[Session]) -> None:
    loaded = load_dataset(committed_pg, DEV)
    first = _dev_orders()[0]
    placed = dt.datetime.fromisoformat(first["placed_at"])
    with committed_pg() as session:
        order = session.scalar(select(tables.Order).where(
            tables.Order.restaurant_id == loaded.restaurants[first["restaurant"]], tables.Order.placed_at == placed))
        assert order is not None and order.status == "dispatched"
        assert [(line.item.sku, line.quantity, line.unit) for line in order.lines] == [
            (line["sku"], Decimal(str(line["quantity"])), line["unit"]) for line in first["lines"]]
        assert all(line.unit_price == line.item.price for line in order.lines)


def test_gold_answers_are_never_opened(
    sqlite_sessionmaker: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "dev"
    shutil.copytree(DEV, folder, ignore=shutil.ignore_patterns("eml"))
    opened: list[str] = []
    real_open, real_path_open = builtins.open, Path.open

    def spy_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        opened.append(str(file))
        return real_open(file, *args, **kwargs)

    def spy_path_open(self: Path, *args: Any, **kwargs: Any) -> Any:
        opened.append(str(self))
        return real_path_open(self, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", spy_open)
    monkeypatch.setattr(Path, "open", spy_path_open)

    load_dataset(sqlite_sessionmaker, folder)

    assert any(name.endswith("orders.jsonl") for name in opened)
    assert not any(name.endswith("gold.jsonl") for name in opened)


def test_load_in_the_callers_session_leaves_the_commit_to_it(db: Session) -> None:
    loaded = load_dataset(db, DEV)
    assert db.get(tables.Supplier, loaded.suppliers["s-greenleaf"]) is not None
    db.rollback()
    assert db.scalar(select(func.count()).select_from(tables.Supplier)) == 0


def test_a_folder_without_suppliers_csv_is_a_clear_error(sqlite_sessionmaker: sessionmaker[Session], sqlite_url: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["dataset", "load", str(tmp_path)], env={"DATABASE_URL": sqlite_url})
    assert result.exit_code == 1 and "suppliers.csv: missing" in result.output


def test_cli_load_on_sqlite_summarises(sqlite_sessionmaker: sessionmaker[Session], sqlite_url: str) -> None:
    result = CliRunner().invoke(main, ["dataset", "load", str(DEV), "--json"], env={"DATABASE_URL": sqlite_url})
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert (summary["suppliers"], summary["restaurants"], summary["catalog_items"]) == (6, 18, 1164)
    assert summary["orders_created"] == len(_dev_orders())
