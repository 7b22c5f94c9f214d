"""`chat2order supplier ...`: add, update, list and show suppliers (translates to onboarding.suppliers)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import click

from chat2order.cli.base import Env, pass_env


def _fields_options(func: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--name", help="Trading name, as chefs know it."),
        click.option("--locale", help="Language-COUNTRY, e.g. pt-PT (default en-US for a new supplier)."),
        click.option("--currency", help="ISO 4217 code (default: the locale's)."),
        click.option("--timezone", help="IANA name, e.g. Europe/Lisbon (default: the locale's)."),
        click.option("--cutoff", help="Order cut-off time, HH:MM local (default 23:00)."),
        click.option("--delivery-days", help="e.g. mon,tue,thu or mon-sat (default mon-sat)."),
        click.option("--order-email", help="Where the supplier wants its order sheets by email ('' clears)."),
        click.option("--order-phone", help="Where the supplier wants orders by SMS ('' clears)."),
        click.option("--inbound-phone", help="The Twilio number chefs text this supplier at ('' clears)."),
        click.option("--inbound-email", help="Address chefs email orders to; a bare local part gets MAIL_DOMAIN."),
        click.option("--morning-sheet-at", help="HH:MM to send the morning order sheet ('' clears)."),
        click.option("--auto-confirm/--no-auto-confirm", default=None,
                     help="Confirm confident orders without asking the chef."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _fields(kwargs: dict[str, Any]) -> Any:
    from chat2order.onboarding.suppliers import SupplierFields

    return SupplierFields(
        name=kwargs["name"], locale=kwargs["locale"], currency=kwargs["currency"], timezone=kwargs["timezone"],
        cutoff=kwargs["cutoff"], delivery_days=kwargs["delivery_days"], order_email=kwargs["order_email"],
        order_phone=kwargs["order_phone"], inbound_phone=kwargs["inbound_phone"],
        inbound_email=kwargs["inbound_email"], auto_confirm=kwargs["auto_confirm"],
        morning_sheet_at=kwargs["morning_sheet_at"],
    )


def _print(info: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    width = max(len(key) for key in info)
    for key, value in info.items():
        click.echo(f"{key.ljust(width)}  {'' if value is None else value}")


@click.group("supplier")
def supplier() -> None:
    """Suppliers: who chefs order from, how to reach them, when they deliver."""


@supplier.command("add")
@click.argument("slug")
@_fields_options
@click.option("--json", "as_json", is_flag=True, help="Print the new supplier as JSON.")
@pass_env
def add(env: Env, slug: str, as_json: bool, **kwargs: Any) -> None:
    """Add the supplier SLUG (a-z, 0-9, '-')."""
    from chat2order.onboarding.suppliers import add_supplier

    info = add_supplier(env.sessionmaker, slug, _fields(kwargs), mail_domain=env.settings.mail_domain)
    if not as_json:
        click.echo(f"added supplier {slug}; next: chat2order catalog import {slug} PRICE_LIST.csv")
    _print(info, as_json)


@supplier.command("update")
@click.argument("slug")
@_fields_options
@click.option("--json", "as_json", is_flag=True, help="Print the supplier as JSON.")
@pass_env
def update_(env: Env, slug: str, as_json: bool, **kwargs: Any) -> None:
    """Change the given settings of supplier SLUG."""
    from chat2order.onboarding.suppliers import update_supplier

    _print(update_supplier(env.sessionmaker, slug, _fields(kwargs), mail_domain=env.settings.mail_domain), as_json)


@supplier.command("list")
@click.option("--json", "as_json", is_flag=True, help="JSON array instead of a table.")
@pass_env
def list_(env: Env, as_json: bool) -> None:
    """List suppliers."""
    from chat2order.onboarding.suppliers import list_suppliers

    rows = list_suppliers(env.sessionmaker)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no suppliers yet: chat2order supplier add SLUG --name ...")
    for row in rows:
        reach = ", ".join(filter(None, [row["inbound_phone"], row["inbound_email"]])) or "no inbound address"
        click.echo(f"{row['slug']:<28} {row['name'][:36]:<36} {row['locale']:<6} {row['catalog_active']:>6} SKUs  {reach}")


@supplier.command("show")
@click.argument("slug")
@click.option("--json", "as_json", is_flag=True, help="JSON instead of text.")
@pass_env
def show(env: Env, slug: str, as_json: bool) -> None:
    """Show supplier SLUG."""
    from chat2order.onboarding.suppliers import show_supplier

    _print(show_supplier(env.sessionmaker, slug), as_json)


COMMANDS = [supplier]
