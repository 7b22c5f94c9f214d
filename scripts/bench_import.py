#!/usr/bin/env python
"""Catalog import benchmark: a seeded N-row price list imported into a fresh SQLite file and a fresh
PostgreSQL database (created and dropped here, on 127.0.0.1 as user postgres), first import and re-import.

The re-import file changes every price, renames 5 % of the items, drops 1 % of the SKUs and adds 1 % new
ones: the worst realistic case (a supplier's new season price list). Prints figures; asserts nothing.

    .venv/bin/python scripts/bench_import.py --rows 50000 [--json] [--skip-postgres]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import secrets
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select, text

from chat2order.db import make_engine, session_factory
from chat2order.migrate import upgrade
from chat2order.onboarding.catalog_import import import_catalog
from chat2order.onboarding.suppliers import SupplierFields, save_supplier
from chat2order.tables import CatalogItem

PG_ADMIN = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
PRODUCTS = ["TOMATO ROMA", "ONION YELLOW", "POTATO RUSSET", "LETTUCE ROMAINE", "CARROT", "LEMON", "LIME",
            "PEPPER RED", "CUCUMBER", "MUSHROOM WHITE", "GARLIC PEELED", "CILANTRO", "PARSLEY ITALIAN",
            "CREAM HEAVY 40%", "BUTTER UNSALTED", "EGGS LARGE", "MILK WHOLE", "CHEESE CHEDDAR", "APPLE GALA"]
PACKS = [("25 lb case", "case"), ("per lb", "lb"), ("10 lb bag", "bag"), ("kg", "kg"), ("bunch", "bunch"),
         ("each", "each"), ("12 ct flat", "flat"), ("dozen", "dozen")]


def write_catalog(path: Path, rows: int, seed: int, *, reprice: bool = False) -> None:
    rng = random.Random(seed)
    skus = list(range(rows))
    if reprice:
        drop = set(rng.sample(skus, rows // 100))
        skus = [n for n in skus if n not in drop] + list(range(rows, rows + rows // 100))
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sku", "name", "pack", "unit", "price"])
        for n in skus:
            item = random.Random(n)  # per-SKU stream: same item, same name and pack in both files
            pack, unit = item.choice(PACKS)
            name = f"{item.choice(PRODUCTS)} {item.choice(['', 'ORGANIC ', 'XL ', 'LOCAL '])}#{n}".replace("  ", " ")
            price = Decimal(item.randint(50, 9000)) / 100
            if reprice:
                price = (price * Decimal(rng.choice(["1.03", "1.05", "0.98", "1.10"]))).quantize(Decimal("0.01"))
                if rng.random() < 0.05:
                    name += " NEW CROP"
            writer.writerow([f"SKU-{n:06d}", name, pack, unit, f"{price}"])


def run(url: str, first: Path, second: Path, rows: int) -> dict[str, Any]:
    engine = make_engine(url)
    try:
        upgrade(url, engine=engine)
        maker = session_factory(engine)
        with maker.begin() as session:
            save_supplier(session, "bench", SupplierFields(name="Bench Produce"), mail_domain="bench.local")
        figures: dict[str, Any] = {}
        for label, path in (("first_import", first), ("re_import", second)):
            started = time.perf_counter()
            result = import_catalog(maker, "bench", path)
            seconds = time.perf_counter() - started
            figures[label] = {
                "seconds": round(seconds, 2), "rows_per_s": round(rows / seconds),
                "created": result.created, "updated": result.updated, "deactivated": result.deactivated,
                "unchanged": result.unchanged, "errors": len(result.errors),
            }
        with maker() as session:
            figures["active_after"] = session.scalar(
                select(func.count()).select_from(CatalogItem).where(CatalogItem.active.is_(True)))
        return figures
    finally:
        engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    report: dict[str, Any] = {"rows": args.rows}
    with tempfile.TemporaryDirectory() as tmp:
        first, second = Path(tmp) / "catalog.csv", Path(tmp) / "catalog-new-season.csv"
        write_catalog(first, args.rows, args.seed)
        write_catalog(second, args.rows, args.seed, reprice=True)
        report["sqlite"] = run(f"sqlite:///{Path(tmp) / 'bench.sqlite3'}", first, second, args.rows)
        if not args.skip_postgres:
            name = f"c2o_bench_{os.getpid()}_{secrets.token_hex(3)}"
            admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            try:
                report["postgresql"] = run(PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", first, second, args.rows)
            finally:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"catalog import benchmark, {args.rows} rows")
    for db in ("sqlite", "postgresql"):
        if db not in report:
            continue
        for label in ("first_import", "re_import"):
            f = report[db][label]
            print(f"  {db:<10} {label:<12} {f['seconds']:>6.2f} s  {f['rows_per_s']:>8} rows/s  "
                  f"created {f['created']}, updated {f['updated']}, deactivated {f['deactivated']}, "
                  f"unchanged {f['unchanged']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
