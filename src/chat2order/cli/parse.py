"""`chat2order parse`: show how the parser reads one message (or one message per stdin line with `-`).

Without `--supplier` the lines carry quantity, unit and product words but no SKU. With `--supplier SLUG`
the supplier's catalog index comes from the database (the same `ContextBuilder` the worker uses), and
`--restaurant SLUG` adds that kitchen's history ("the usual", "same as last friday").
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Any

import click

from chat2order.cli.base import Env, UserError, pass_env


def _as_data(parsed: Any) -> dict[str, Any]:
    """The benchmark prediction plus what a person wants to see: product words, confidence, candidates."""
    data: dict[str, Any] = parsed.to_prediction("-")
    data.pop("id", None)
    data["language"] = parsed.language
    for out, line in zip(data["lines"], parsed.lines):
        out["text"] = line.text
        out["product"] = line.product
        out["confidence"] = line.confidence
        out["candidates"] = list(line.candidates)
        out["not_carried"] = line.not_carried
    return data


def _readable(parsed: Any, names: dict[str, str]) -> str:
    head = f"intent: {parsed.intent}  delivery: {parsed.delivery_date or '-'}  language: {parsed.language}"
    rows = [head]
    for line in parsed.lines:
        qty = "?" if line.quantity is None else f"{line.quantity.normalize():f}"
        unit = line.unit or "(sale unit)"
        if line.sku:
            what = f"{line.sku}  {names.get(line.sku, '')}"
        elif line.not_carried:
            what = f"not carried: {line.product or line.text}"
        else:
            what = f"{line.product or line.text}"
        flag = "  REVIEW" if line.needs_review else ""
        cands = f"  candidates: {', '.join(line.candidates)}" if line.candidates else ""
        rows.append(f"  {qty:>7} {unit:<12} {what}  [{line.confidence:.2f}]{flag}{cands}")
    if not parsed.lines:
        rows.append("  (no lines)")
    return "\n".join(rows)


@click.command("parse")
@click.argument("text")
@click.option("--supplier", "supplier_slug", default=None, help="Supplier slug: match against its catalog.")
@click.option("--restaurant", "restaurant_slug", default=None, help="Restaurant slug: use its order history.")
@click.option("--locale", default=None, help="Locale of the text (default: restaurant's, supplier's, en-US).")
@click.option("--channel", default="sms", show_default=True, help="sms, whatsapp, email, chat, voicemail.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (one object per message).")
@pass_env
def parse_command(
    env: Env,
    text: str,
    supplier_slug: str | None,
    restaurant_slug: str | None,
    locale: str | None,
    channel: str,
    as_json: bool,
) -> None:
    """Parse TEXT (or, with TEXT = '-', every line of standard input) and print the reading."""
    from chat2order.parsing import ParseContext, parse

    now = dt.datetime.now(dt.UTC)
    names: dict[str, str] = {}
    if supplier_slug is None:
        if restaurant_slug is not None:
            raise UserError("--restaurant needs --supplier")
        context = ParseContext(index=None, locale=locale or "en-US", received_at=now.astimezone(), channel=channel)
    else:
        context, names = _context_from_db(env, supplier_slug, restaurant_slug, now, channel, locale)
    texts = (line.rstrip("\n") for line in sys.stdin) if text == "-" else iter([text])
    for message in texts:
        if text == "-" and not message.strip():
            continue
        parsed = parse(message, context)
        if as_json:
            click.echo(json.dumps(_as_data(parsed), ensure_ascii=False))
        else:
            click.echo(_readable(parsed, names))


def _context_from_db(
    env: Env, supplier_slug: str, restaurant_slug: str | None, now: dt.datetime, channel: str, locale: str | None
) -> tuple[Any, dict[str, str]]:
    from dataclasses import replace

    from sqlalchemy import select

    from chat2order.ordering.context import ContextBuilder
    from chat2order.tables import Restaurant, Supplier

    with env.sessionmaker() as session:
        supplier = session.scalar(select(Supplier).where(Supplier.slug == supplier_slug))
        if supplier is None:
            raise UserError(f"no supplier with slug {supplier_slug!r}")
        restaurant_id = None
        if restaurant_slug is not None:
            restaurant = session.scalar(select(Restaurant).where(Restaurant.slug == restaurant_slug))
            if restaurant is None:
                raise UserError(f"no restaurant with slug {restaurant_slug!r}")
            restaurant_id = restaurant.id
        context = ContextBuilder().build(
            session, restaurant_id=restaurant_id, supplier_id=supplier.id, received_at=now, channel=channel
        )
        if restaurant_id is None:
            context = replace(context, locale=supplier.locale)
        if locale:
            context = replace(context, locale=locale)
        names = {item.sku: item.entry.name for item in context.index.items}
    return context, names


COMMANDS = [parse_command]
