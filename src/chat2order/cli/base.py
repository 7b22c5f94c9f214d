"""What every command shares: settings read once, one engine, and errors turned into one clear line."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import click

from chat2order.config import Settings

F = TypeVar("F", bound=Callable[..., Any])


class UserError(click.ClickException):
    """A mistake the user can fix: printed as one line, exit code 1, no traceback."""


class AppGroup(click.Group):
    """The root group: help listed in sections, and expected failures turned into one line, exit code 1.

    `sections` is a sequence of (title, command names); a command in no section is listed under "Other".
    """

    sections: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        commands = {}
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                commands[name] = command
        if not commands:
            return
        width = max(len(name) for name in commands)
        limit = formatter.width - 6 - width
        placed: set[str] = set()
        for title, names in (*self.sections, ("Other", tuple(sorted(commands)))):
            chosen = [n for n in names if n in commands and n not in placed]
            placed.update(chosen)
            # Names padded to one width so the summaries line up across sections.
            rows = [(n.ljust(width), commands[n].get_short_help_str(limit)) for n in chosen]
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            line = one_line_error(exc, ctx.obj.settings if isinstance(ctx.obj, Env) else None)
            if line is None:
                raise
            click.echo(f"error: {line}", err=True)
            sys.exit(1)


def one_line_error(exc: BaseException, settings: Settings | None) -> str | None:
    """The one line a user needs for a failure they can fix (service down, bad URL, missing file), else None.

    Libraries are imported only here, once something failed, so `--help` stays instant.
    """
    from chat2order.errors import Chat2OrderError

    if isinstance(exc, Chat2OrderError):
        return str(exc)
    if isinstance(exc, FileNotFoundError):
        return f"no such file: {exc.filename or exc}"
    if isinstance(exc, PermissionError):
        return f"permission denied: {exc.filename or exc}"
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeout

    if isinstance(exc, (RedisConnectionError, RedisTimeout)):
        url = safe_url(settings.redis_url) if settings is not None else "REDIS_URL"
        return f"Redis unreachable at {url} ({_first_line(exc)})"
    from sqlalchemy.exc import (
        ArgumentError,
        InterfaceError,
        NoSuchModuleError,
        OperationalError,
        ProgrammingError,
    )

    database = safe_url(settings.effective_database_url) if settings is not None else "DATABASE_URL"
    if isinstance(exc, (ProgrammingError, OperationalError)) and _missing_table(exc):
        return f"the database at {database} has no chat2order tables yet: run `chat2order db upgrade`"
    if isinstance(exc, (OperationalError, InterfaceError)):
        return f"database unreachable at {database} ({_first_line(exc.orig or exc)})"
    if isinstance(exc, (ArgumentError, NoSuchModuleError)):
        return f"DATABASE_URL is not a usable database URL: {database} ({_first_line(exc)})"
    return None


def safe_url(url: str) -> str:
    """`url` with any password replaced by ***, for error messages and logs."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
        return urlunsplit(parts._replace(netloc=netloc))
    except ValueError:
        return "<unparseable URL>"


def _missing_table(exc: Any) -> bool:
    """PostgreSQL's undefined_table (42P01) or SQLite's "no such table": the schema was never migrated."""
    orig = getattr(exc, "orig", None)
    return getattr(orig, "sqlstate", None) == "42P01" or "no such table" in str(orig or "")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


@dataclass
class Env:
    """Lazily built runtime shared by one CLI invocation."""

    settings: Settings
    _engine: Any = field(default=None, repr=False)

    @property
    def engine(self) -> Any:
        if self._engine is None:
            from chat2order.db import make_engine

            self._engine = make_engine(self.settings.effective_database_url)
        return self._engine

    @property
    def sessionmaker(self) -> Any:
        from chat2order.db import session_factory

        return session_factory(self.engine)


def pass_env(func: F) -> F:
    """Give a command the `Env` (settings from the environment, read once per invocation)."""

    @click.pass_context
    @functools.wraps(func)
    def wrapper(ctx: click.Context, *args: Any, **kwargs: Any) -> Any:
        root = ctx.find_root()
        if not isinstance(root.obj, Env):
            root.obj = Env(settings=Settings.from_env())
        return ctx.invoke(func, root.obj, *args, **kwargs)

    return wrapper  # type: ignore[return-value]
