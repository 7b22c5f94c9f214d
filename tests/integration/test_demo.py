"""The demo data of the embedded default: reachable supplier, chef, catalog and recent history; idempotent."""

from __future__ import annotations

import csv
import datetime as dt
import importlib.util
import json
import random
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from chat2order import tables
from chat2order.cli import main
from chat2order.errors import InvalidInput
from chat2order.onboarding.demo import default_demo_dir, load_demo

DOMAIN = "mail.example.org"


def test_demo_supplier_is_reachable_at_the_documented_addresses(sqlite_sessionmaker: sessionmaker[Session]) -> None:
    loaded = load_demo(sqlite_sessionmaker, mail_domain=DOMAIN)
    with sqlite_sessionmaker() as session:
        supplier = session.get(tables.Supplier, loaded.supplier_id)
        assert supplier.inbound_phone == "+15555550100"
        assert supplier.inbound_email == f"orders@{DOMAIN}"
        assert supplier.order_email and supplier.order_email not in (supplier.inbound_email,)
        chef = session.scalar(select(tables.Contact).where(tables.Contact.phone == "+15555550123"))
        assert chef is not None and chef.restaurant_id == loaded.restaurant_id and chef.email
        account = session.scalar(select(tables.Account).where(tables.Account.restaurant_id == loaded.restaurant_id))
        assert account is not None and account.supplier_id == supplier.id


def test_demo_catalog_has_a_few_hundred_active_skus(sqlite_sessionmaker: sessionmaker[Session]) -> None:
    loaded = load_demo(sqlite_sessionmaker, mail_domain=DOMAIN)
    with sqlite_sessionmaker() as session:
        active = session.scalar(select(func.count()).select_from(tables.CatalogItem).where(
            tables.CatalogItem.supplier_id == loaded.supplier_id, tables.CatalogItem.active.is_(True)))
    assert 200 <= active <= 600 and loaded.catalog.errors == []


def test_demo_history_is_a_few_recent_weeks_of_dispatched_orders(sqlite_sessionmaker: sessionmaker[Session]) -> None:
    today = dt.date(2026, 11, 28)
    loaded = load_demo(sqlite_sessionmaker, mail_domain=DOMAIN, today=today)
    with sqlite_sessionmaker() as session:
        orders = session.scalars(select(tables.Order).where(tables.Order.restaurant_id == loaded.restaurant_id)).all()
        assert len(orders) == loaded.orders_total >= 8
        assert {o.status for o in orders} == {"dispatched"}
        days = sorted(o.delivery_date for o in orders)
        assert today - dt.timedelta(days=35) <= days[0] and days[-1] <= today
        assert all(line.item.supplier_id == loaded.supplier_id for o in orders for line in o.lines)


def test_loading_the_demo_twice_creates_nothing_new(sqlite_sessionmaker: sessionmaker[Session]) -> None:
    first = load_demo(sqlite_sessionmaker, mail_domain=DOMAIN)

    second = load_demo(sqlite_sessionmaker, mail_domain=DOMAIN)

    assert second.orders_created == 0 and second.orders_total == first.orders_total
    assert second.catalog.unchanged == first.catalog.rows and second.catalog.created == 0
    with sqlite_sessionmaker() as session:
        assert session.scalar(select(func.count()).select_from(tables.Supplier)) == 1
        assert session.scalar(select(func.count()).select_from(tables.Contact)) == len(first.contacts)


def test_demo_loads_on_postgresql_too(committed_pg: sessionmaker[Session]) -> None:
    loaded = load_demo(committed_pg, mail_domain=DOMAIN)
    assert loaded.inbound_phone == "+15555550100" and loaded.orders_created == loaded.orders_total > 0


def test_demo_files_are_what_the_seeded_generator_writes() -> None:
    spec = importlib.util.spec_from_file_location("demo_generate", default_demo_dir() / "generate.py")
    assert spec and spec.loader
    generate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generate)
    rng = random.Random(generate.SEED)
    rows = generate.catalog_rows(rng)
    history = generate.history(rng, {row["sku"] for row in rows})

    with (default_demo_dir() / "catalog.csv").open(encoding="utf-8") as handle:
        assert list(csv.DictReader(handle)) == rows
    lines = (default_demo_dir() / "history.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == history


def test_cli_demo_load_prints_how_to_reach_the_demo(sqlite_sessionmaker: sessionmaker[Session], sqlite_url: str) -> None:
    result = CliRunner().invoke(main, ["demo", "load"], env={"DATABASE_URL": sqlite_url, "MAIL_DOMAIN": DOMAIN})
    assert result.exit_code == 0, result.output
    assert "SMS +15555550100" in result.output and f"email orders@{DOMAIN}" in result.output
    assert "+15555550123" in result.output


def test_demo_load_with_a_missing_folder_is_a_clear_error(sqlite_sessionmaker: sessionmaker[Session], tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="demo.json: missing"):
        load_demo(sqlite_sessionmaker, mail_domain=DOMAIN, directory=tmp_path)
