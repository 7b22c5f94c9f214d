"""The `chat2order` command line. Each command group lives in its own module under `cli/`.

Commands import heavy things (spaCy, the web app, SQLAlchemy sessions) inside their functions, so
`chat2order --help` stays instant. A user mistake is one clear line on stderr and a non-zero exit.
"""

from __future__ import annotations

import click

from chat2order.cli.base import AppGroup, pass_env

COMMAND_MODULES = (
    "chat2order.cli.db",
)


@click.group(cls=AppGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="chat2order")
def main() -> None:
    """chat2order: restaurant orders by text, WhatsApp, email and chat, to exact supplier order sheets."""


def _register() -> None:
    import importlib

    for name in COMMAND_MODULES:
        module = importlib.import_module(name)
        for command in getattr(module, "COMMANDS", ()):
            main.add_command(command)


_register()

__all__ = ["main", "pass_env"]
