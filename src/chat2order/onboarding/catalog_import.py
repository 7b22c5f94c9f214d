"""Importing a supplier's price list: one transaction, bulk Core statements, row-numbered report.

Semantics (docs/onboarding.md):
- Good rows are written, bad rows are reported (file, row, what is wrong); the whole import is one
  transaction, so a failure half-way leaves the catalog as it was. `strict=True` writes nothing when any
  row is bad.
- A SKU already in the catalog gets the file's name, pack, unit and price; a SKU that had been deactivated
  and comes back is re-activated; a SKU missing from the file is deactivated, never deleted (past order
  lines reference it). A SKU that appears only on a bad row keeps its current values and stays active.
- Every changed row gets a new `updated_at`, which is what the parse-context cache keys on.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, bindparam, insert, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from chat2order.errors import NotFound
from chat2order.onboarding.catalog_csv import CatalogFile, RowError, count_lines, read_catalog
from chat2order.onboarding.progress import NoProgress, Progress
from chat2order.tables import CatalogItem, Supplier, utcnow

BATCH = 5000
T = TypeVar("T")


@dataclass
class ImportResult:
    supplier: str
    file: str
    rows: int = 0  # good rows in the file
    created: int = 0
    updated: int = 0
    reactivated: int = 0
    deactivated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    dry_run: bool = False
    written: bool = False  # False for a dry run or a strict import that found bad rows
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "supplier": self.supplier,
            "file": self.file,
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "reactivated": self.reactivated,
            "deactivated": self.deactivated,
            "unchanged": self.unchanged,
            "errors": [error.as_dict() for error in self.errors],
            "dry_run": self.dry_run,
            "written": self.written,
            "seconds": round(self.seconds, 3),
        }


def _batches(items: Sequence[T], size: int = BATCH) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _same(old: Any, row: Any) -> bool:
    # Numeric compare: SQLite hands back 32.5 for 32.50.
    return bool(old.name == row.name and old.pack == row.pack and old.unit == row.unit and old.price == row.price)


def apply_catalog(
    session: Session,
    supplier_id: int,
    catalog: CatalogFile,
    *,
    write: bool = True,
    progress: Progress | None = None,
    result: ImportResult | None = None,
) -> ImportResult:
    """Bring the supplier's catalog in line with `catalog` inside the caller's transaction (never commits)."""
    progress = progress or NoProgress()
    result = result or ImportResult(supplier=str(supplier_id), file=catalog.name)
    result.rows, result.errors = len(catalog.rows), list(catalog.errors)
    table = CatalogItem.__table__
    conn = session.connection()
    existing = {
        row.sku: row
        for row in conn.execute(
            select(table.c.id, table.c.sku, table.c.name, table.c.pack, table.c.unit, table.c.price, table.c.active)
            .where(table.c.supplier_id == supplier_id)
        )
    }
    now = utcnow()
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for row in catalog.rows:
        old = existing.get(row.sku)
        values = {"name": row.name, "pack": row.pack, "unit": row.unit, "price": row.price, "updated_at": now}
        if old is None:
            inserts.append({"supplier_id": supplier_id, "sku": row.sku, "active": True, **values})
            result.created += 1
        elif not old.active:
            updates.append({"item_id": old.id, **values})
            result.reactivated += 1
        elif not _same(old, row):
            updates.append({"item_id": old.id, **values})
            result.updated += 1
        else:
            result.unchanged += 1
    gone = [old.id for sku, old in existing.items() if old.active and sku not in catalog.mentioned_skus]
    result.deactivated = len(gone)
    if not write:
        return result

    progress.stage(f"writing {catalog.name}", len(inserts) + len(updates) + len(gone))
    for chunk in _batches(inserts):
        conn.execute(insert(table), list(chunk))
        progress.advance(len(chunk))
    for chunk in _batches(updates):
        _update_items(conn, list(chunk), now)
        progress.advance(len(chunk))
    for ids in _batches(gone, 500):
        conn.execute(update(table).where(table.c.id.in_(list(ids))).values(active=False, updated_at=now))
        progress.advance(len(ids))
    result.written = True
    return result


_PG_UPDATE = text(
    "UPDATE catalog_items AS c SET name = u.name, pack = u.pack, unit = u.unit, price = u.price,"
    " updated_at = :now, active = true"
    " FROM unnest(CAST(:ids AS integer[]), CAST(:names AS varchar[]), CAST(:packs AS varchar[]),"
    " CAST(:units AS varchar[]), CAST(:prices AS numeric[])) AS u(id, name, pack, unit, price)"
    " WHERE c.id = u.id"
)


def _update_items(conn: Connection, rows: list[dict[str, Any]], now: dt.datetime) -> None:
    """Rewrite name, pack, unit and price of existing items (and re-activate them)."""
    table = CatalogItem.__table__
    if conn.dialect.name == "postgresql":
        # One UPDATE ... FROM unnest(arrays) per batch: PostgreSQL runs one statement with six parameters
        # instead of thousands of statements, which keeps a 50,000-row re-import fast on a busy machine.
        conn.execute(_PG_UPDATE, {
            "ids": [r["item_id"] for r in rows], "names": [r["name"] for r in rows],
            "packs": [r["pack"] for r in rows], "units": [r["unit"] for r in rows],
            "prices": [r["price"] for r in rows], "now": now,
        })
        return
    conn.execute(
        update(table)
        .where(table.c.id == bindparam("item_id"))
        .values(name=bindparam("name"), pack=bindparam("pack"), unit=bindparam("unit"), price=bindparam("price"),
                updated_at=bindparam("updated_at"), active=True),
        rows,
    )


def supplier_id_for(session: Session, slug: str) -> int:
    supplier_id = session.scalar(select(Supplier.id).where(Supplier.slug == slug))
    if supplier_id is None:
        raise NotFound(f"no supplier {slug!r} (add it first: chat2order supplier add {slug} --name ...)")
    return supplier_id


def import_catalog(
    maker: sessionmaker[Session],
    supplier: str,
    path: Path,
    *,
    dry_run: bool = False,
    strict: bool = False,
    progress: Progress | None = None,
) -> ImportResult:
    """Import the price list at `path` for the supplier with slug `supplier`, in one transaction."""
    started = time.perf_counter()
    progress = progress or NoProgress()
    result = ImportResult(supplier=supplier, file=str(path), dry_run=dry_run)
    try:
        with maker() as session:
            supplier_id = supplier_id_for(session, supplier)
            progress.stage(f"reading {path.name}", max(count_lines(path) - 1, 0))
            catalog = read_catalog(path, progress=progress.advance)
            write = not dry_run and not (strict and catalog.errors)
            apply_catalog(session, supplier_id, catalog, write=write, progress=progress, result=result)
            if write:
                session.commit()
            else:
                session.rollback()
    finally:
        progress.close()
    result.seconds = time.perf_counter() - started
    return result


def export_rows(session: Session, supplier: str, *, include_inactive: bool = False) -> Iterable[dict[str, Any]]:
    """The supplier's catalog as FORMAT.md rows (active SKUs unless `include_inactive`)."""
    supplier_id = supplier_id_for(session, supplier)
    stmt = select(CatalogItem).where(CatalogItem.supplier_id == supplier_id).order_by(CatalogItem.id)
    if not include_inactive:
        stmt = stmt.where(CatalogItem.active.is_(True))
    for item in session.scalars(stmt):
        row: dict[str, Any] = {"sku": item.sku, "name": item.name, "pack": item.pack, "unit": item.unit,
                               "price": format_price(item.price)}
        if include_inactive:
            row["active"] = "yes" if item.active else "no"
        yield row


def format_price(value: Decimal | None) -> str:
    """`32.50` for cents, more places only when the price has them (`0.1875`)."""
    if value is None:
        return ""
    cents = value.quantize(Decimal("0.01"))
    return f"{cents:f}" if cents == value else f"{value.normalize():f}"
