"""`chat2order dataset load DIR`: load a benchmark-format folder into the store (never its gold.jsonl)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import click

from chat2order.cli.base import Env, pass_env


@click.group("dataset")
def dataset() -> None:
    """Benchmark datasets (FORMAT.md folders)."""


@dataset.command("load")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@pass_env
def load(env: Env, directory: Path, as_json: bool, quiet: bool) -> None:
    """Load suppliers, restaurants, catalogs and past orders of DIRECTORY (idempotent)."""
    from chat2order.observability import configure
    from chat2order.onboarding.datasets import load_dataset
    from chat2order.onboarding.progress import TqdmProgress

    configure(env.settings, "cli", level=logging.WARNING)  # long run: warnings in the process's log format

    loaded = load_dataset(env.sessionmaker, directory, progress=TqdmProgress(quiet=quiet))
    summary = loaded.summary()
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    for warning in loaded.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(
        f"loaded {directory}: {summary['suppliers']} suppliers ({summary['catalog_items']} catalog rows), "
        f"{summary['restaurants']} restaurants with one chef contact each, {loaded.accounts_created} new accounts, "
        f"{loaded.orders_created} new past orders ({loaded.lines_created} lines), "
        f"{loaded.orders_existing} already loaded"
    )


COMMANDS = [dataset]
