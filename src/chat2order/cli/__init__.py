"""The `chat2order` command line. Each command group lives in its own module under `cli/`.

Commands import heavy things (spaCy, the web app, SQLAlchemy sessions) inside their functions, so
`chat2order --help` stays instant. A user mistake is one clear line on stderr and a non-zero exit.
"""

from __future__ import annotations

import click

from chat2order.cli.base import AppGroup, pass_env

COMMAND_MODULES = (
    "chat2order.cli.db",
    "chat2order.cli.supplier",
    "chat2order.cli.catalog",
    "chat2order.cli.dataset",
    "chat2order.cli.demo",
    "chat2order.cli.token",
    "chat2order.cli.serve",
    "chat2order.cli.smtp",
    "chat2order.cli.dispatch",
    "chat2order.cli.predict",
    "chat2order.cli.parse",
)


# How `chat2order --help` lists the commands; a command not named here is listed under "Other".
SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Run", ("serve", "smtp", "worker")),
    ("Data", ("db", "supplier", "catalog", "dataset", "demo", "token")),
    ("Orders", ("parse", "predict", "dispatch")),
    ("Tools", ("twilio",)),
)
# One-line summaries for the listing where a command's own first sentence is too long for it.
SUMMARIES = {
    "parse": "Parse a message (or stdin lines) and print the reading.",
    "predict": "Predict a benchmark dataset through the live intake and parser.",
    "supplier": "Suppliers: add, update, show, list.",
    "token": "Chat API bearer tokens: create, revoke.",
    "twilio": "Twilio helpers: sign a test webhook, reconcile missed messages.",
}


class _Root(AppGroup):
    sections = SECTIONS


@click.group(cls=_Root, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(package_name="chat2order")
def main() -> None:
    """chat2order: restaurant orders by text, WhatsApp, email and chat, to exact supplier order sheets."""


def _register() -> None:
    import importlib

    for name in COMMAND_MODULES:
        module = importlib.import_module(name)
        for command in getattr(module, "COMMANDS", ()):
            if command.name in SUMMARIES and not command.short_help:
                command.short_help = SUMMARIES[command.name]
            main.add_command(command)


_register()

__all__ = ["main", "pass_env"]
