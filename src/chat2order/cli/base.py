"""What every command shares: settings read once, one engine, and errors turned into one clear line."""

from __future__ import annotations

import functools
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, TypeVar

import click

from chat2order.config import Settings

F = TypeVar("F", bound=Callable[..., Any])


class UserError(click.ClickException):
    """A mistake the user can fix: printed as one line, exit code 1, no traceback."""


class AppGroup(click.Group):
    """Click group that turns the project's own expected errors into one line instead of a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        from chat2order.errors import Chat2OrderError

        try:
            return super().invoke(ctx)
        except Chat2OrderError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)


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
