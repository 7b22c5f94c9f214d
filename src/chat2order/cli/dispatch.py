"""`chat2order dispatch ...`: see what is pending, sent or failed in the outbox; retry; run the relay."""

from __future__ import annotations

import json
from typing import Any

import click

from chat2order.cli.base import Env, pass_env

WAITING = ("pending", "queued", "sending", "failed", "undeliverable")


def _runtime(env: Env) -> Any:
    from chat2order import jobs
    from chat2order.runtime import Runtime

    rt = Runtime(env.settings, engine=env.engine)
    jobs.set_runtime(rt)
    return rt


def _row_dict(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "status": row.status,
        "channel": row.channel,
        "recipient": row.recipient,
        "purpose": row.purpose,
        "order_id": row.order_id,
        "attempts": row.attempts,
        "provider_id": row.provider_id,
        "last_error": row.last_error,
        "created_at": row.created_at.isoformat() if row.created_at else None,
        "next_attempt_at": row.next_attempt_at.isoformat() if row.next_attempt_at else None,
    }


@click.group("dispatch")
def dispatch() -> None:
    """Outbound messages: status, retry, relay."""


@dispatch.command("status")
@click.option("--json", "as_json", is_flag=True, help="One JSON object: counts and the rows not yet sent.")
@click.option("--limit", type=int, default=50, show_default=True, help="Rows to list.")
@pass_env
def status(env: Env, as_json: bool, limit: int) -> None:
    """Counts per status, then the rows still pending, being sent, failed or undeliverable."""
    from sqlalchemy import select

    from chat2order.ordering.dispatch import status_counts
    from chat2order.tables import OutboundMessage

    with env.sessionmaker() as session:
        counts = status_counts(session)
        rows = session.scalars(
            select(OutboundMessage)
            .where(OutboundMessage.status.in_(WAITING))
            .order_by(OutboundMessage.id.desc())
            .limit(limit)
        ).all()
        listed = [_row_dict(row) for row in rows]
    summary = {
        "pending": sum(counts.get(s, 0) for s in ("pending", "queued", "sending")),
        "sent": sum(counts.get(s, 0) for s in ("sent", "delivered")),
        "failed": sum(counts.get(s, 0) for s in ("failed", "undeliverable")),
    }
    if as_json:
        click.echo(json.dumps({**summary, "by_status": counts, "rows": listed}, default=str))
        return
    click.echo("  ".join(f"{k}: {v}" for k, v in summary.items()))
    click.echo("  ".join(f"{k}={v}" for k, v in sorted(counts.items())) or "outbox is empty")
    for row in listed:
        error = f"  {row['last_error'][:80]}" if row["last_error"] else ""
        click.echo(
            f"#{row['id']:<6} {row['status']:<13} {row['channel']:<8} {row['purpose']:<13} "
            f"{row['recipient']:<32} attempts={row['attempts']}{error}"
        )


@dispatch.command("retry")
@click.argument("outbox_id", type=int, required=False)
@click.option("--all-failed", is_flag=True, help="Retry every failed row.")
@pass_env
def retry(env: Env, outbox_id: int | None, all_failed: bool) -> None:
    """Put a failed row (or every failed row) back in line and enqueue it."""
    from chat2order.cli.base import UserError
    from chat2order.ordering.dispatch import retry_failed

    if (outbox_id is None) == (not all_failed):
        raise UserError("give either an OUTBOX_ID or --all-failed")
    rt = _runtime(env)
    try:
        ids = retry_failed(rt, outbox_id, all_failed=all_failed)
    finally:
        rt.close()
    click.echo(f"requeued {len(ids)} row(s)" + (f": {', '.join(map(str, ids))}" if ids else ""))


@dispatch.command("relay")
@pass_env
def relay(env: Env) -> None:
    """Republish rows still pending (after a crash or a Redis restart) once; the worker also does it."""
    from chat2order.ordering.dispatch import relay_pending

    rt = _runtime(env)
    try:
        count = relay_pending(rt)
    finally:
        rt.close()
    click.echo(f"enqueued {count} row(s)")


COMMANDS = [dispatch]
