"""`chat2order token ...`: create and revoke chat API tokens (the plain token is printed once, never stored)."""

from __future__ import annotations

import click

from chat2order.cli.base import Env, UserError, pass_env


@click.group("token")
def token() -> None:
    """Chat API bearer tokens for restaurant contacts and supplier staff."""


@token.command("create")
@click.option(
    "--contact", "contact", metavar="EMAIL|PHONE", help="A restaurant contact (chef) by email or phone."
)
@click.option("--supplier", "supplier", metavar="SLUG", help="A supplier's staff, by supplier slug.")
@click.option("--label", default="", help="A note to recognise the token later (e.g. 'kitchen tablet').")
@pass_env
def create(env: Env, contact: str | None, supplier: str | None, label: str) -> None:
    """Create a token and print it once: store it now, it cannot be shown again."""
    from chat2order import auth

    if bool(contact) == bool(supplier):
        raise UserError("give exactly one of --contact EMAIL|PHONE or --supplier SLUG")
    with env.sessionmaker() as session, session.begin():
        if contact:
            owner = auth.find_contact(session, contact)
            plain, _row = auth.create_token(session, contact_id=owner.id, label=label)
        else:
            owner_supplier = auth.find_supplier(session, supplier or "")
            plain, _row = auth.create_token(session, supplier_id=owner_supplier.id, label=label)
    click.echo(plain)


@token.command("revoke")
@click.argument("plain_token")
@pass_env
def revoke(env: Env, plain_token: str) -> None:
    """Revoke a token: every later request with it gets 401."""
    from chat2order import auth

    with env.sessionmaker() as session, session.begin():
        if not auth.revoke(session, plain_token):
            raise UserError("no such token")
    click.echo("revoked")


COMMANDS = [token]
