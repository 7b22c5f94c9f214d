"""`chat2order db ...`: schema migrations."""

from __future__ import annotations

import click

from chat2order.cli.base import Env, pass_env


@click.group("db")
def db() -> None:
    """Database schema (Alembic migrations)."""


@db.command("upgrade")
@click.argument("revision", default="head")
@pass_env
def upgrade(env: Env, revision: str) -> None:
    """Apply migrations up to REVISION (default: head)."""
    from chat2order.migrate import upgrade as run

    env.settings.var_dir.mkdir(parents=True, exist_ok=True)
    run(env.settings.effective_database_url, revision)
    click.echo(f"database at {revision}")


@db.command("downgrade")
@click.argument("revision")
@pass_env
def downgrade(env: Env, revision: str) -> None:
    """Revert migrations down to REVISION ('base' empties the schema)."""
    from chat2order.migrate import downgrade as run

    run(env.settings.effective_database_url, revision)
    click.echo(f"database at {revision}")


COMMANDS = [db]
