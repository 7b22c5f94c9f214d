"""`chat2order catalog ...`: import and export a supplier's price list (translates to onboarding)."""

from __future__ import annotations

import csv
import json
import logging
import sys
from pathlib import Path

import click

from chat2order.cli.base import Env, pass_env

# Exit status of an import whose good rows went in but some rows were rejected.
EXIT_ROWS_REJECTED = 2


@click.group("catalog")
def catalog() -> None:
    """Supplier catalogs (price lists): import from CSV, export."""


@catalog.command("import")
@click.argument("supplier")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check and count, write nothing.")
@click.option("--strict", is_flag=True, help="Write nothing when any row is bad.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@pass_env
def import_(env: Env, supplier: str, file: Path, dry_run: bool, strict: bool, as_json: bool, quiet: bool) -> None:
    """Import FILE (sku,name,pack,unit,price) as SUPPLIER's catalog.

    Good rows are imported in one transaction, bad rows are reported with their row number; SKUs no
    longer in the file are deactivated (never deleted). Exit status 2 when some rows were rejected.
    """
    from chat2order.observability import configure
    from chat2order.onboarding.catalog_import import import_catalog
    from chat2order.onboarding.progress import TqdmProgress

    configure(env.settings, "cli", level=logging.WARNING)  # long run: warnings in the process's log format

    result = import_catalog(
        env.sessionmaker, supplier, file, dry_run=dry_run, strict=strict,
        progress=TqdmProgress(quiet=quiet, min_total=2000),
    )
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2))
    else:
        for error in result.errors:
            click.echo(str(error), err=True)
        verb = "would import" if not result.written else "imported"
        if strict and result.errors and not dry_run:
            verb = "rejected the file (--strict); would import"
        click.echo(
            f"{verb} {result.rows} rows for {supplier}: {result.created} new, {result.updated} updated, "
            f"{result.reactivated} re-activated, {result.deactivated} deactivated, {result.unchanged} unchanged; "
            f"{len(result.errors)} rows rejected ({result.seconds:.2f} s)"
        )
    if result.errors:
        sys.exit(EXIT_ROWS_REJECTED)


@catalog.command("export")
@click.argument("supplier")
@click.option("--all", "include_inactive", is_flag=True, help="Include deactivated SKUs (adds an 'active' column).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="File (default stdout).")
@pass_env
def export(env: Env, supplier: str, include_inactive: bool, output: Path | None) -> None:
    """Write SUPPLIER's catalog as CSV (the import format)."""
    from chat2order.onboarding.catalog_import import export_rows

    columns = ["sku", "name", "pack", "unit", "price"] + (["active"] if include_inactive else [])
    handle = output.open("w", newline="", encoding="utf-8") if output else sys.stdout
    try:
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        with env.sessionmaker() as session:
            writer.writerows(export_rows(session, supplier, include_inactive=include_inactive))
    finally:
        if output:
            handle.close()


COMMANDS = [catalog]
