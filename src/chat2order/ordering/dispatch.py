"""Dispatch: write the supplier's order sheet to the outbox, and send outbox rows exactly once.

The outbox row id is the idempotency key of the send. `deliver(rt, outbox_id)`:
1. claims the row in its own transaction (PostgreSQL `SELECT ... FOR UPDATE`), skips it when it is already
   `sent`/`delivered`/`undeliverable`/`failed`, marks it `sending` with a lease (`next_attempt_at` = now +
   `DISPATCH_LEASE_SECONDS`) and COMMITS, before any provider is called;
2. if the row was already `sending` and its lease ran out (a worker died mid-send, or the last attempt ended
   with an unknown outcome), asks the provider whether it already holds the message (`find_sent`: Twilio is
   listed; the outbox folder is checked) and records that instead of sending again; a provider that cannot be
   asked (the SMTP relay) gets the same Message-ID again, so the receiver can drop the repeat;
3. sends, then records `sent` + provider id, fenced by the attempt number, so a worker that lost its lease
   cannot overwrite a newer attempt's outcome.
Transient failures go back to `pending` with a backoff (or stay `sending` when the provider may have the
message) and raise `DeliveryDeferred` so the queue retries; permanent ones park the row as `failed`; Twilio
21610 (opted out) makes it `undeliverable` and flags the contact. `relay_pending` republishes what a crash
or a lost Redis left behind. docs/dispatch.md states exactly what "exactly once" means here.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import logging
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, and_, bindparam, func, or_, select
from sqlalchemy.orm import Session, joinedload

from chat2order.errors import Chat2OrderError, InvalidInput, NotFound
from chat2order.metrics import DISPATCH
from chat2order.notify import OptedOut, Outgoing, PermanentSendError, Sender, TransientSendError
from chat2order.observability import log_context
from chat2order.ordering import outbox
from chat2order.ordering.sheet_rows import queue_cancellation, queue_order_sheet
from chat2order.tables import Contact, InboundMessage, Order, OutboundMessage, Supplier

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from chat2order.runtime import Runtime

log = logging.getLogger(__name__)

DONE = frozenset({"sent", "delivered", "undeliverable", "cancelled"})
# Seconds to wait before attempt n+1 after attempt n failed transiently; after the last, the row is `failed`.
RETRY_DELAYS = (5, 30, 120, 600, 1800)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
RELAY_AFTER = dt.timedelta(seconds=5)  # give the service time to enqueue after its commit
REQUEUE_AFTER = dt.timedelta(seconds=60)  # a row the relay queued is republished if still waiting by then
WHATSAPP_WINDOW = dt.timedelta(hours=24)  # free-form WhatsApp messages only this long after the person's last
# Outside the window a message is held and a template ("opener") asks the recipient to reply; held messages
# go out once the reply opens the window, or become undeliverable after this long.
WHATSAPP_HOLD = dt.timedelta(days=7)
OPENER = "whatsapp_opener"
OPENER_MAX_CHARS = 200  # a template variable holds at most 255 characters, on one line


class DeliveryDeferred(Chat2OrderError):
    """The row is not done yet (retry later): a transient failure, or another attempt still holds the lease."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    # SQLite hands back naive datetimes for timezone-aware columns; they are UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _one_statement(rt: Runtime) -> Connection:
    """A connection for a statement that is a transaction on its own (the plain claim, the fenced outcome):
    in autocommit it needs no BEGIN and no COMMIT, two round trips fewer each time."""
    return rt.engine.connect().execution_options(isolation_level="AUTOCOMMIT")


def message_id_for(row: OutboundMessage, domain: str) -> str:
    """The email Message-ID of this outbox row: the same on every attempt, unique across deployments."""
    digest = hashlib.sha256(row.idempotency_key.encode()).hexdigest()[:16]
    return f"<c2o.{row.id}.{digest}@{domain}>"


# ---------------------------------------------------------------------------------------------------------
# Sending one row.


@dataclass(frozen=True)
class _Claim:
    outbox_id: int
    attempt: int
    recovering: bool
    outgoing: Outgoing
    purpose: str = ""


def _sender_address(row: OutboundMessage, rt: Runtime) -> str | None:
    inbound = row.inbound_message
    return _sender_of(
        rt,
        row.channel,
        inbound_channel=inbound.channel if inbound is not None else None,
        inbound_recipient=inbound.recipient if inbound is not None else None,
        order_phone=row.order.supplier.inbound_phone if row.order is not None else None,
        inbound_supplier_phone=inbound.supplier.inbound_phone if inbound is not None and inbound.supplier else None,
    )


def _sender_of(
    rt: Runtime,
    channel: str,
    *,
    inbound_channel: str | None,
    inbound_recipient: str | None,
    order_phone: str | None,
    inbound_supplier_phone: str | None,
) -> str | None:
    """Who the message is from: our address for email; else the number the chef wrote to, the order's
    supplier's number, or the number of the supplier the inbound message was routed to."""
    if channel == "email":
        return rt.settings.mail_from or f"orders@{rt.settings.mail_domain}"
    if inbound_recipient and inbound_channel in ("sms", "whatsapp", "voicemail"):
        return inbound_recipient.removeprefix("whatsapp:")
    if order_phone:
        return order_phone
    return inbound_supplier_phone


def _outgoing(row: OutboundMessage, rt: Runtime, sender: str | None = None, *, known_sender: bool = False) -> Outgoing:
    """What the sender gets for `row` (an ORM row, or a Core row of the same columns with `sender` given)."""
    return Outgoing(
        content_sid=rt.settings.whatsapp_template_sid if row.purpose == OPENER else None,
        outbox_id=row.id,
        channel=row.channel,
        to=row.recipient,
        body=row.body,
        sender=sender if known_sender else _sender_address(row, rt),
        subject=row.subject,
        html=row.html,
        attachments=outbox.attachments_of(row),
        message_id=message_id_for(row, rt.settings.mail_domain) if row.channel == "email" else None,
        attempt_started_at=_aware(row.created_at),
    )


def _other_provider_ids(session: Session, row: OutboundMessage) -> frozenset[str]:
    """Provider ids other rows to the same recipient already own: a lookup must not claim one of those."""
    ids = session.execute(
        select(OutboundMessage.provider_id).where(
            OutboundMessage.recipient == row.recipient,
            OutboundMessage.id != row.id,
            OutboundMessage.provider_id.is_not(None),
            OutboundMessage.created_at >= row.created_at - dt.timedelta(minutes=5),
        )
    ).scalars()
    return frozenset(i for i in ids if i)


def whatsapp_window_open(session: Session, recipient: str, now: dt.datetime) -> bool:
    """WhatsApp allows free-form messages only within 24 h of the person's last message to us."""
    number = recipient.removeprefix("whatsapp:")
    last = session.execute(
        select(func.max(InboundMessage.received_at)).where(
            InboundMessage.channel == "whatsapp", InboundMessage.sender.in_((number, f"whatsapp:{number}"))
        )
    ).scalar_one_or_none()
    return last is not None and _aware(last) > now - WHATSAPP_WINDOW  # type: ignore[operator]


def opener_text(row: OutboundMessage) -> str:
    """The template's variable: the held message's subject or first line, on one line (WhatsApp's rule)."""
    source = row.subject or next((line for line in row.body.splitlines() if line.strip()), row.purpose)
    text = " ".join(source.split())
    return text if len(text) <= OPENER_MAX_CHARS else text[: OPENER_MAX_CHARS - 1] + "…"


def _hold_for_window(session: Session, row: OutboundMessage, now: dt.datetime) -> OutboundMessage | None:
    """Park `row` until the recipient replies; returns a new opener to send, or None when one already asks."""
    row.status, row.next_attempt_at = "held", now + WHATSAPP_HOLD
    row.last_error = "outside WhatsApp's 24-hour window: held until the recipient replies to the template"
    asking = session.execute(
        select(OutboundMessage.id).where(
            OutboundMessage.purpose == OPENER,
            OutboundMessage.recipient == row.recipient,
            OutboundMessage.created_at >= now - WHATSAPP_HOLD,
            OutboundMessage.status.not_in(("failed", "undeliverable", "cancelled")),
        ).limit(1)
    ).first()
    if asking is not None:
        return None
    return outbox.add(
        session, channel="whatsapp", recipient=row.recipient, body=opener_text(row), purpose=OPENER,
        idempotency_key=f"{OPENER}:{row.id}", order_id=row.order_id, inbound_message_id=row.inbound_message_id,
    )


@functools.cache
def _claim_statement(postgres: bool) -> Select[tuple[OutboundMessage]]:
    """The row locked, with what `_sender_address` and the cancelled-sheet check read loaded in the same
    statement (one round trip instead of up to four lazy loads); built once, since building a statement
    costs more CPU than running this one."""
    stmt = (
        select(OutboundMessage)
        .where(OutboundMessage.id == bindparam("outbox_id"))
        .options(
            joinedload(OutboundMessage.inbound_message).joinedload(InboundMessage.supplier),
            joinedload(OutboundMessage.order).joinedload(Order.supplier),
        )
    )
    # Only the outbox row is locked; the joined rows are read as they are (they were before, lazily).
    return stmt.with_for_update(of=OutboundMessage) if postgres else stmt


@functools.cache
def _finish_statement(postgres: bool) -> Select[tuple[OutboundMessage]]:
    stmt = select(OutboundMessage).where(OutboundMessage.id == bindparam("outbox_id"))
    return stmt.with_for_update() if postgres else stmt


# Rows the plain claim may take: waiting to be sent, no attempt in flight, not one of the purposes or channels
# whose claim decides more (a cancelled order's sheet, WhatsApp's window and openers).
_PLAIN_STATUSES = ("pending", "queued")
_NOT_PLAIN_PURPOSES = ("order_sheet", OPENER)


@functools.cache
def _plain_claim_statement() -> Any:
    """`UPDATE ... SET status='sending', attempts=attempts+1, lease WHERE <plain row> RETURNING` the row and
    what `_sender_of` needs: the usual claim in one statement, built once."""
    table = OutboundMessage.__table__
    inbound = InboundMessage.__table__
    order = Order.__table__
    supplier = Supplier.__table__
    order_phone = (
        select(supplier.c.inbound_phone)
        .select_from(order.join(supplier, supplier.c.id == order.c.supplier_id))
        .where(order.c.id == table.c.order_id)
        .scalar_subquery()
    )
    inbound_row = select(inbound).where(inbound.c.id == table.c.inbound_message_id)
    inbound_supplier_phone = (
        select(supplier.c.inbound_phone)
        .select_from(inbound.join(supplier, supplier.c.id == inbound.c.supplier_id))
        .where(inbound.c.id == table.c.inbound_message_id)
        .scalar_subquery()
    )
    return (
        table.update()
        .where(
            table.c.id == bindparam("outbox_id"),
            table.c.status.in_(_PLAIN_STATUSES),
            table.c.attempts < bindparam("max_attempts"),
            table.c.channel != "whatsapp",
            table.c.purpose.not_in(_NOT_PLAIN_PURPOSES),
        )
        .values(
            status="sending",
            attempts=table.c.attempts + 1,
            next_attempt_at=bindparam("lease_until", type_=table.c.next_attempt_at.type),
        )
        .returning(
            *table.c,
            inbound_row.with_only_columns(inbound.c.channel).scalar_subquery().label("inbound_channel"),
            inbound_row.with_only_columns(inbound.c.recipient).scalar_subquery().label("inbound_recipient"),
            order_phone.label("order_phone"),
            inbound_supplier_phone.label("inbound_supplier_phone"),
        )
    )


def _plain_claim(rt: Runtime, outbox_id: int, now: dt.datetime) -> _Claim | None:
    """The usual claim (a row waiting to be sent, nothing to decide but the lease) in one UPDATE; None when
    the row is anything else, for `_claim` to lock and look at. Same outcome as `_claim` for such a row."""
    lease_until = now + dt.timedelta(seconds=rt.settings.dispatch_lease_seconds)
    if rt.engine.dialect.name != "postgresql":
        # SQLite cannot take the subqueries in RETURNING (unqualified column names clash); the embedded
        # default keeps the locked read below, which is what its single writer needs anyway.
        return None
    with _one_statement(rt) as connection:
        row = connection.execute(
            _plain_claim_statement(),
            {"outbox_id": outbox_id, "max_attempts": MAX_ATTEMPTS, "lease_until": lease_until},
        ).first()
    if row is None:
        return None
    sender = _sender_of(
        rt,
        row.channel,
        inbound_channel=row.inbound_channel,
        inbound_recipient=row.inbound_recipient,
        order_phone=row.order_phone,
        inbound_supplier_phone=row.inbound_supplier_phone,
    )
    return _Claim(outbox_id, row.attempts, False, _outgoing(row, rt, sender, known_sender=True), row.purpose)


def _claim(rt: Runtime, outbox_id: int, now: dt.datetime, follow_up: list[int]) -> _Claim | None:
    """Lock and lease the row, or settle it without sending; rows to send next are appended to `follow_up`."""
    plain = _plain_claim(rt, outbox_id, now)
    if plain is not None:
        return plain
    with rt.sessionmaker() as session, session.begin():
        row = session.execute(_claim_statement(_is_postgres(session)), {"outbox_id": outbox_id}).scalar_one_or_none()
        if row is None:
            log.warning("deliver: outbox row %s does not exist", outbox_id)
            return None
        if row.status in DONE or row.status == "failed":
            log.info("deliver: outbox row %s already %s", outbox_id, row.status)
            return None
        recovering = row.status == "sending"
        lease_until = _aware(row.next_attempt_at)
        if recovering and lease_until is not None and lease_until > now:
            raise DeliveryDeferred(f"outbox row {outbox_id} is being sent by another attempt until {lease_until}")
        if row.purpose == "order_sheet" and row.order is not None and row.order.status == "cancelled":
            row.status, row.last_error = "cancelled", "order cancelled before dispatch"
            return None
        template = rt.settings.whatsapp_template_sid
        if row.purpose == OPENER and not template:
            row.status, row.last_error = "undeliverable", "no WhatsApp template configured (WHATSAPP_TEMPLATE_SID)"
            return None
        if row.channel == "whatsapp" and row.purpose != OPENER and not whatsapp_window_open(session, row.recipient, now):
            if not template:
                row.status = "undeliverable"
                row.last_error = "outside WhatsApp's 24-hour window: needs a template (WHATSAPP_TEMPLATE_SID)"
                return None
            opener = _hold_for_window(session, row, now)
            if opener is not None:
                follow_up.append(opener.id)
            return None
        if row.attempts >= MAX_ATTEMPTS:
            row.status = "failed"
            row.last_error = f"gave up after {row.attempts} attempts: {row.last_error or ''}"[:2000]
            return None
        outgoing = _outgoing(row, rt)
        if recovering:
            outgoing = replace(outgoing, known_provider_ids=_other_provider_ids(session, row))
        row.status = "sending"
        row.attempts += 1
        row.next_attempt_at = now + dt.timedelta(seconds=rt.settings.dispatch_lease_seconds)
        return _Claim(outbox_id, row.attempts, recovering, outgoing, row.purpose)


def mark_order_dispatched(session: Session, row: OutboundMessage, now: dt.datetime) -> None:
    if row.purpose != "order_sheet" or row.order_id is None:
        return
    order = session.get(Order, row.order_id)
    if order is not None and order.status == "confirmed":
        from chat2order.ordering.orders import transition

        transition(order, "dispatched", now)


def _finish(rt: Runtime, claim: _Claim, *, status: str, now: dt.datetime, provider_id: str | None = None,
            error: str | None = None, next_attempt_at: dt.datetime | None = None) -> None:
    """Record the outcome of `claim`, unless a newer attempt (or a status callback) got there first."""
    if status == "sent" and claim.purpose != "order_sheet" and _record_sent(rt, claim, now, provider_id):
        return
    with rt.sessionmaker() as session, session.begin():
        row = session.execute(_finish_statement(_is_postgres(session)), {"outbox_id": claim.outbox_id}).scalar_one()
        ours = row.status == "sending" and row.attempts == claim.attempt
        if not ours:
            if provider_id is not None and row.provider_id == provider_id:
                return  # the status callback recorded this send before we did
            log.error(
                "outbox row %s: attempt %s finished (%s) after losing its lease (row is %s, attempt %s)",
                claim.outbox_id, claim.attempt, status, row.status, row.attempts,
            )
            return
        row.status = status
        row.next_attempt_at = next_attempt_at
        if error is not None:
            row.last_error = error[:2000]
        if provider_id is not None:
            row.provider_id = provider_id
        if status == "sent":
            row.sent_at = now
            mark_order_dispatched(session, row, now)
        if status == "undeliverable" and row.channel in ("sms", "whatsapp"):
            contact = session.execute(select(Contact).where(Contact.phone == row.recipient)).scalar_one_or_none()
            if contact is not None:
                contact.sms_opted_out = True


def _record_sent(rt: Runtime, claim: _Claim, now: dt.datetime, provider_id: str | None) -> bool:
    """The usual outcome in one fenced UPDATE: `sent`, if the row is still this attempt's (`sending`, same
    attempt number). False when it is not (a newer attempt or a status callback got there first): `_finish`
    then reads the row and decides as for any other outcome. Nothing else changes on a send that is not an
    order sheet (whose order becomes `dispatched`)."""
    values = {"status": "sent", "next_attempt_at": None, "sent_at": now}
    if provider_id is not None:
        values["provider_id"] = provider_id
    params = {f"new_{name}": value for name, value in values.items()}
    with _one_statement(rt) as connection:
        done = connection.execute(
            _sent_statement(tuple(values)), {**params, "outbox_id": claim.outbox_id, "attempt": claim.attempt}
        )
        return bool(done.rowcount)


@functools.cache
def _sent_statement(columns: tuple[str, ...]) -> Any:
    table = OutboundMessage.__table__
    return (
        table.update()
        .where(
            table.c.id == bindparam("outbox_id"),
            table.c.status == "sending",
            table.c.attempts == bindparam("attempt"),
        )
        .values({name: bindparam(f"new_{name}", type_=table.c[name].type) for name in columns})
    )


def _retry_delay(attempt: int) -> dt.timedelta:
    return dt.timedelta(seconds=RETRY_DELAYS[min(attempt, len(RETRY_DELAYS)) - 1])


def deliver(rt: Runtime, outbox_id: int, *, now: dt.datetime | None = None) -> None:
    """Send one outbox row through notify, at most once per provider acceptance (see module docstring)."""
    with log_context(outbox_id=outbox_id):
        follow_up: list[int] = []
        claim = _claim(rt, outbox_id, now or _now(), follow_up)
        outbox.enqueue_deliveries(rt.queue, follow_up)
        if claim is None:
            return
        msg = claim.outgoing
        sender: Sender = rt.senders.for_channel(msg.channel)
        looked_up = False
        try:
            if claim.recovering:
                found = sender.find_sent(msg)
                looked_up = True
                if found is not None:
                    log.warning("outbox row %s: found as %s at %s after an interrupted send", outbox_id, found, sender.name)
                    DISPATCH.labels(msg.channel, "recovered").inc()
                    _finish(rt, claim, status="sent", provider_id=found, now=_now())
                    return
            result = sender.send(msg)
        except OptedOut as exc:
            DISPATCH.labels(msg.channel, "opted_out").inc()
            _finish(rt, claim, status="undeliverable", error=str(exc), now=_now())
            return
        except PermanentSendError as exc:
            DISPATCH.labels(msg.channel, "failed").inc()
            log.error("outbox row %s: permanent failure: %s", outbox_id, exc)
            _finish(rt, claim, status="failed", error=str(exc), now=_now())
            return
        except Exception as exc:
            # Transient, or unexpected: retry later. When the provider may already hold the message the row stays
            # `sending` (lease ending at the retry time), so the next attempt looks it up before sending again.
            ambiguous = getattr(exc, "ambiguous", not isinstance(exc, TransientSendError))
            # A lookup that failed leaves the earlier attempt's outcome as unknown as before.
            ambiguous = ambiguous or (claim.recovering and not looked_up)
            DISPATCH.labels(msg.channel, "retry").inc()
            when = _now()
            last = claim.attempt >= MAX_ATTEMPTS
            status = "failed" if last else ("sending" if ambiguous else "pending")
            _finish(rt, claim, status=status, error=f"{type(exc).__name__}: {exc}", now=when,
                    next_attempt_at=None if last else when + _retry_delay(claim.attempt))
            if last:
                log.error("outbox row %s: giving up after %s attempts: %s", outbox_id, claim.attempt, exc)
                return
            raise DeliveryDeferred(f"outbox row {outbox_id}: attempt {claim.attempt} failed: {exc}") from exc
        DISPATCH.labels(msg.channel, "sent").inc()
        _finish(rt, claim, status="sent", provider_id=result.provider_id, now=_now())


# ---------------------------------------------------------------------------------------------------------
# Relay and manual retry.


def relay_pending(
    rt: Runtime,
    *,
    now: dt.datetime | None = None,
    older_than: dt.timedelta = RELAY_AFTER,
    requeue_after: dt.timedelta = REQUEUE_AFTER,
    limit: int = 500,
) -> int:
    """Enqueue `deliver` for rows a crash or a lost queue left behind; returns how many were enqueued.

    Picks `pending`/`queued` rows older than `older_than` whose retry time has come, and `sending` rows whose
    lease ran out. On PostgreSQL the rows are claimed with `FOR UPDATE SKIP LOCKED`, so several relays
    share the work; a claimed row is marked `queued` and not republished before `requeue_after`.
    """
    now = now or _now()
    due = or_(OutboundMessage.next_attempt_at.is_(None), OutboundMessage.next_attempt_at <= now)
    stmt = (
        select(OutboundMessage)
        .where(
            or_(
                and_(OutboundMessage.status.in_(("pending", "queued")), OutboundMessage.created_at <= now - older_than, due),
                and_(OutboundMessage.status == "sending", OutboundMessage.next_attempt_at <= now),
            )
        )
        .order_by(OutboundMessage.id)
        .limit(limit)
    )
    with rt.sessionmaker() as session, session.begin():
        if _is_postgres(session):
            stmt = stmt.with_for_update(skip_locked=True)
        rows = list(session.execute(stmt).scalars()) + _release_held(session, now, limit)
        for row in rows:
            if row.status != "sending":
                row.status = "queued"
                row.next_attempt_at = now + requeue_after
        ids = [row.id for row in rows]
    outbox.enqueue_deliveries(rt.queue, ids)
    if ids:
        log.info("relay: enqueued %d outbox rows", len(ids))
    return len(ids)


def _release_held(session: Session, now: dt.datetime, limit: int) -> list[OutboundMessage]:
    """WhatsApp rows held for the window whose recipient has replied since; expired ones become undeliverable."""
    stmt = select(OutboundMessage).where(OutboundMessage.status == "held").order_by(OutboundMessage.id).limit(limit)
    if _is_postgres(session):
        stmt = stmt.with_for_update(skip_locked=True)
    released = []
    for row in session.execute(stmt).scalars():
        if whatsapp_window_open(session, row.recipient, now):
            released.append(row)
        elif (_aware(row.next_attempt_at) or now) <= now:
            row.status = "undeliverable"
            row.last_error = f"no reply to the WhatsApp template within {WHATSAPP_HOLD.days} days"
            log.warning("outbox row %s: undeliverable, %s", row.id, row.last_error)
    if released:
        log.info("relay: %d WhatsApp messages released, their recipients replied", len(released))
    return released


def retry_failed(rt: Runtime, outbox_id: int | None = None, *, all_failed: bool = False) -> list[int]:
    """Put `failed` rows back in line (one by id, or all) and enqueue them; returns their ids.

    A retried row restarts as an expired `sending` lease, so its first attempt checks whether an earlier
    attempt reached the provider before sending again.
    """
    if outbox_id is None and not all_failed:
        raise InvalidInput("give an outbox id or ask for all failed rows")
    now = _now()
    with rt.sessionmaker() as session, session.begin():
        stmt = select(OutboundMessage)
        if outbox_id is not None:
            stmt = stmt.where(OutboundMessage.id == outbox_id)
        else:
            stmt = stmt.where(OutboundMessage.status == "failed")
        if _is_postgres(session):
            stmt = stmt.with_for_update(skip_locked=True)
        rows = list(session.execute(stmt).scalars())
        if outbox_id is not None:
            if not rows:
                raise NotFound(f"no outbox row {outbox_id}")
            if rows[0].status != "failed":
                raise InvalidInput(f"outbox row {outbox_id} is {rows[0].status}, not failed")
        for row in rows:
            row.status = "sending"
            row.attempts = 0
            row.next_attempt_at = now
        ids = [row.id for row in rows]
    outbox.enqueue_deliveries(rt.queue, ids)
    return ids


def status_counts(session: Session) -> dict[str, int]:
    rows = session.execute(select(OutboundMessage.status, func.count()).group_by(OutboundMessage.status))
    return {status: int(count) for status, count in rows}


# ---------------------------------------------------------------------------------------------------------
# The consolidated morning sheets (a scheduled job).


def morning_sheets(rt: Runtime, *, now: dt.datetime | None = None) -> int:
    """Write and enqueue every morning sheet that is due; returns how many were written.

    A supplier with `morning_sheet_at` gets, once per local day at or after that time, one email listing
    every restaurant's confirmed orders for delivery that day. Keyed by supplier and date, so the job can
    run every minute on any number of workers.
    """
    from chat2order.ordering.morning import due_morning_sheets

    now = now or _now()
    with rt.sessionmaker() as session, session.begin():
        rows = due_morning_sheets(session, now)
        ids = [row.id for row in rows]
    outbox.enqueue_deliveries(rt.queue, ids)
    return len(ids)


__all__ = [
    "DeliveryDeferred", "deliver", "message_id_for", "morning_sheets", "queue_cancellation", "queue_order_sheet",
    "relay_pending", "retry_failed", "status_counts",
]
