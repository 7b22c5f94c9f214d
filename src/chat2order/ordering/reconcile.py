"""Reconciliation: store the inbound messages Twilio holds that never reached us (issue 6).

While the database is down the webhook answers 503 so Twilio tries its fallback URL; a message neither
stored is still in Twilio's message log. `reconcile(rt, source)` reads, for each of our numbers (every
supplier's `inbound_phone`, as SMS and as WhatsApp), the inbound messages sent since the stored watermark
(minus an overlap for clock skew and late webhooks), skips the MessageSids already stored, and hands the
others to `intake.receive`: the webhook's own path, so routing is the same and the (channel, MessageSid)
uniqueness makes a concurrent webhook, a second run or two reconcilers store each message once.

The watermark moves to the run's start only when every number was read; a failed read (Twilio down, a
bad page) is logged and the next run starts from the old watermark again. What was stored before the
failure stays stored. The source is any object with `inbound(number, since) -> Iterable[Incoming]`
(`channels.twilio_history.TwilioHistory` in production).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import select

from chat2order.errors import InvalidInput
from chat2order.ordering import intake
from chat2order.tables import InboundMessage, Supplier, Watermark, utcnow

if TYPE_CHECKING:
    from chat2order.runtime import Runtime

log = logging.getLogger(__name__)

WATERMARK = "twilio_reconcile"
# Read this much before the watermark: Twilio's clock, a webhook retried for minutes, a run still going.
OVERLAP = dt.timedelta(minutes=10)
BATCH = 200  # MessageSids checked against the database per query


class InboundSource(Protocol):
    def inbound(self, number: str, since: dt.datetime) -> Iterable[intake.Incoming]: ...


@dataclass
class Reconciled:
    """What one run did; `failed` lists the numbers whose read failed (the watermark did not move then)."""

    since: dt.datetime
    seen: int = 0
    stored: int = 0
    already: int = 0
    refused: int = 0  # messages intake refuses as invalid (logged); they cannot block the watermark
    numbers: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    watermark: dt.datetime | None = None

    @property
    def ok(self) -> bool:
        return not self.failed


def our_numbers(rt: Runtime) -> list[str]:
    """Every number Twilio delivers our inbound messages to: suppliers' numbers, as SMS and WhatsApp."""
    with rt.sessionmaker() as session:
        found = sorted(set(session.scalars(select(Supplier.inbound_phone).where(Supplier.inbound_phone.is_not(None)))))
    return [n for number in found if number for n in (number, f"whatsapp:{number}")]


def reconcile(
    rt: Runtime,
    source: InboundSource,
    *,
    since: dt.datetime | None = None,
    numbers: Iterable[str] | None = None,
    now: dt.datetime | None = None,
) -> Reconciled:
    """Store what Twilio has and we do not (see module docstring). With `since` given the run is a manual
    sweep of that window and leaves the watermark alone."""
    started = now or utcnow()
    manual = since is not None
    if since is None:
        mark = read_watermark(rt)
        lookback = dt.timedelta(hours=rt.settings.twilio_reconcile_lookback_hours)
        since = (mark - OVERLAP) if mark is not None else started - lookback
    result = Reconciled(since=since, numbers=list(numbers) if numbers is not None else our_numbers(rt))
    for number in result.numbers:
        try:
            _one_number(rt, source, number, since, result)
        except Exception as exc:  # noqa: BLE001 - any failure of the source: keep the watermark, retry next run
            result.failed.append(number)
            log.warning(
                "twilio reconciliation of %s failed; the next run reads it again: %r", number, exc,
                extra={"data": {"number": number, "since": since.isoformat()}},
            )
    if result.ok and not manual:
        result.watermark = advance_watermark(rt, started)
    log.info(
        "twilio reconciliation: %d stored, %d already stored, %d numbers read, %d failed",
        result.stored, result.already, len(result.numbers) - len(result.failed), len(result.failed),
        extra={"data": {"since": since.isoformat(), "stored": result.stored, "failed": result.failed}},
    )
    return result


def _one_number(rt: Runtime, source: InboundSource, number: str, since: dt.datetime, result: Reconciled) -> None:
    batch: list[intake.Incoming] = []
    for incoming in source.inbound(number, since):
        batch.append(incoming)
        if len(batch) >= BATCH:
            _ingest(rt, batch, result)
            batch = []
    _ingest(rt, batch, result)


def _ingest(rt: Runtime, batch: list[intake.Incoming], result: Reconciled) -> None:
    if not batch:
        return
    result.seen += len(batch)
    with rt.sessionmaker() as session:
        rows = session.execute(
            select(InboundMessage.channel, InboundMessage.provider_id).where(
                InboundMessage.provider_id.in_({m.provider_id for m in batch})
            )
        )
        known = {(channel, provider_id) for channel, provider_id in rows}
    for incoming in batch:
        if (incoming.channel, incoming.provider_id) in known:
            result.already += 1
            continue
        # The same path as the webhook: a webhook (or another run) storing it meanwhile makes this a duplicate.
        try:
            received = intake.receive(rt, incoming)
        except InvalidInput as exc:
            result.refused += 1
            log.warning("twilio message %s not stored: %s", incoming.provider_id, exc)
            continue
        if received.created:
            result.stored += 1
            log.info("reconciled inbound message %s from Twilio's log", incoming.provider_id,
                     extra={"data": {"message_id": received.message_id, "status": received.status}})
        else:
            result.already += 1


def read_watermark(rt: Runtime, name: str = WATERMARK) -> dt.datetime | None:
    with rt.sessionmaker() as session:
        return session.scalar(select(Watermark.at).where(Watermark.name == name))


def advance_watermark(rt: Runtime, at: dt.datetime, name: str = WATERMARK) -> dt.datetime:
    """Move the watermark forward to `at` (never backwards: a slower concurrent run cannot undo a faster one)."""
    from sqlalchemy.exc import IntegrityError

    for _ in range(2):
        with rt.sessionmaker() as session:
            row = session.scalar(select(Watermark).where(Watermark.name == name).with_for_update())
            if row is None:
                session.add(Watermark(name=name, at=at, updated_at=utcnow()))
            elif row.at < at:
                row.at, row.updated_at = at, utcnow()
            try:
                session.commit()
            except IntegrityError:  # another run created it first: lock it and compare again
                session.rollback()
                continue
            return row.at if row is not None else at
    raise RuntimeError(f"could not advance watermark {name}")  # pragma: no cover - two lost races in a row
