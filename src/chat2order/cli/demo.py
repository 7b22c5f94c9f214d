"""`chat2order demo load`: the demo supplier, restaurant, chef and history for the embedded default."""

from __future__ import annotations

import json
from pathlib import Path

import click

from chat2order.cli.base import Env, pass_env


@click.group("demo")
def demo() -> None:
    """Demo data (fixtures/demo)."""


@demo.command("load")
@click.option("--dir", "directory", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Fixture folder (default: fixtures/demo of this checkout).")
@click.option("--json", "as_json", is_flag=True, help="Print what was loaded as JSON.")
@pass_env
def load(env: Env, directory: Path | None, as_json: bool) -> None:
    """Create or refresh the demo data (safe to run again)."""
    from chat2order.onboarding.demo import load_demo

    loaded = load_demo(env.sessionmaker, mail_domain=env.settings.mail_domain, directory=directory)
    if as_json:
        click.echo(json.dumps(loaded.as_dict(), indent=2))
        return
    chefs = ", ".join(f"{name} {phone}" for name, phone in loaded.contacts.items())
    click.echo(
        f"demo supplier {loaded.supplier_slug}: {loaded.catalog.rows} SKUs, SMS {loaded.inbound_phone}, "
        f"email {loaded.inbound_email}, order sheets to {loaded.order_email}\n"
        f"demo restaurant {loaded.restaurant_slug}: {chefs}; {loaded.orders_total} past orders "
        f"({loaded.orders_created} new)"
    )


COMMANDS = [demo]
