"""Intake: every channel hands its message here; we store it first, then queue its processing.

`receive(rt, incoming)` resolves who wrote (contact by E.164 phone or email), for which restaurant and to
which supplier (the number or address written to, or the supplier named in the text, or the restaurant's
only supplier), inserts the raw `InboundMessage` idempotently on (channel, provider_id), commits, and only
then enqueues `process_message`. A redelivered message returns the stored row with `created=False`.

Messages that must not be processed are stored with a status saying why and are not queued:
`unknown_sender` (one polite answer per number per 24 h), `opted_out` / `opted_in` / `help_requested`
(carrier keywords, see `optout`), `ignored_auto_reply` (`meta["auto_reply"]`), `needs_attention`
(MMS media in `meta["media"]`, `meta["hold_reason"]` set by a channel, no supplier, sender opted out).

Routing (who, for whom, to whom, which status) lives in `routing`. Channels set these `meta` keys: `auto_reply: bool`, `media: list`, `hold_reason: str`.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from chat2order import phones
from chat2order.errors import InvalidInput
from chat2order.metrics import INBOUND
from chat2order.observability import log_context
from chat2order.ordering import optout
from chat2order.ordering.routing import (
    IGNORED_AUTO_REPLY,
    NEEDS_ATTENTION,
    RECEIVED,
    UNKNOWN_SENDER,
    Routing,
    route,
)
from chat2order.tables import InboundMessage, OutboundMessage, Supplier, utcnow

if TYPE_CHECKING:
    from chat2order.runtime import Runtime

log = logging.getLogger(__name__)

# The statuses are defined with the routing that decides them; callers read them here.
__all__ = [
    "CHANNELS", "IGNORED_AUTO_REPLY", "NEEDS_ATTENTION", "RECEIVED", "UNKNOWN_SENDER",
    "Incoming", "Received", "receive", "requeue_received", "supplier_locale",
]

CHANNELS = ("sms", "whatsapp", "voicemail", "email", "chat")

UNKNOWN_SENDER_REPLY_EVERY = dt.timedelta(hours=24)
UNKNOWN_SENDER_TEXT = (
    "Hello, this is the order line of {supplier}. We do not know this number yet, so we kept your "
    "message and {supplier} will get back to you."
)


@dataclass
class Incoming:
    """A message as a channel received it (hints come from authenticated channels such as the chat API)."""

    channel: str
    provider_id: str
    sender: str
    recipient: str | None
    body: str
    raw: str
    subject: str | None = None
    received_at: dt.datetime | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    restaurant_id: int | None = None
    supplier_id: int | None = None
    contact_id: int | None = None


@dataclass(frozen=True)
class Received:
    message_id: int
    created: bool
    status: str
    contact_id: int | None
    restaurant_id: int | None
    supplier_id: int | None


def receive(rt: Runtime, incoming: Incoming) -> Received:
    """Store one incoming message (idempotently), commit, then queue what follows."""
    _check(incoming)
    with rt.sessionmaker() as session:
        # No look-up first: the insert itself detects a redelivery, which keeps the common case (a new
        # message) to a few round trips; a duplicate only costs a wasted routing.
        routing = route(session, incoming, rt.settings.mail_domains)
        message_id = _insert_ignoring_duplicate(session, incoming, routing)
        if message_id is None:  # delivered before, or a concurrent delivery won the insert
            session.rollback()
            found = _find(session, incoming.channel, incoming.provider_id)
            assert found is not None
            INBOUND.labels(incoming.channel, "duplicate").inc()
            with log_context(message_id=found.id, channel=incoming.channel):
                log.info("duplicate delivery of %s; nothing stored", incoming.provider_id)
            return _received(found, created=False)
        to_deliver = _side_effects(session, incoming, routing, message_id)
        session.commit()
    INBOUND.labels(incoming.channel, routing.status).inc()
    with log_context(message_id=message_id, channel=incoming.channel):
        log.info(
            "stored inbound message",
            extra={"data": {"status": routing.status, "supplier_id": routing.supplier_id,
                            "restaurant_id": routing.restaurant_id}},
        )
    result = Received(
        message_id=message_id,
        created=True,
        status=routing.status,
        contact_id=routing.contact_id,
        restaurant_id=routing.restaurant_id,
        supplier_id=routing.supplier_id,
    )
    # Queue only after the commit: the job must find the rows it reads.
    _enqueue_after_commit(rt, result, to_deliver)
    return result


def _check(incoming: Incoming) -> None:
    if incoming.channel not in CHANNELS:
        raise InvalidInput(f"unknown channel {incoming.channel!r}")
    if not incoming.provider_id or len(incoming.provider_id) > 255:
        raise InvalidInput("provider_id must be 1..255 characters")
    if not incoming.sender and incoming.contact_id is None:
        raise InvalidInput("a message needs a sender")


def _find(session: Session, channel: str, provider_id: str) -> InboundMessage | None:
    return session.scalar(
        select(InboundMessage).where(InboundMessage.channel == channel, InboundMessage.provider_id == provider_id)
    )


def _received(message: InboundMessage, *, created: bool) -> Received:
    return Received(
        message_id=message.id,
        created=created,
        status=message.status,
        contact_id=message.contact_id,
        restaurant_id=message.restaurant_id,
        supplier_id=message.supplier_id,
    )


# --- store ------------------------------------------------------------------------------------------------


def _insert_ignoring_duplicate(session: Session, incoming: Incoming, routing: Routing) -> int | None:
    """INSERT ... ON CONFLICT (channel, provider_id) DO NOTHING RETURNING id; the new id, or None for a duplicate.

    Safe under concurrency: on PostgreSQL a second insert of the same key waits for the first transaction
    and then does nothing, so two simultaneous deliveries make one row. A Core statement built once per
    dialect, run on the session's connection: the ORM's bulk-insert bookkeeping cost more CPU than the
    round trip itself on the webhook's hot path.
    """
    values = {
        "channel": incoming.channel,
        "provider_id": incoming.provider_id,
        "sender": (incoming.sender or "")[:320],
        "recipient": (incoming.recipient or None) and incoming.recipient[:320],
        "contact_id": routing.contact_id,
        "restaurant_id": routing.restaurant_id,
        "supplier_id": routing.supplier_id,
        "subject": (incoming.subject or None) and incoming.subject[:998],
        "body": incoming.body or "",
        "raw": incoming.raw or "",
        "meta": dict(incoming.meta or {}),
        "received_at": incoming.received_at or utcnow(),
        "status": routing.status,
        "error": routing.error,
        "attempts": 0,
    }
    connection = session.connection()
    return connection.execute(_insert_statement(connection.dialect.name), values).scalar_one_or_none()


@functools.cache
def _insert_statement(dialect: str) -> Any:
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    else:  # pragma: no cover - only PostgreSQL and SQLite are supported
        raise InvalidInput(f"unsupported database {dialect}")
    table = InboundMessage.__table__
    return (
        insert(table)
        .on_conflict_do_nothing(index_elements=["channel", "provider_id"])
        .returning(table.c.id)
    )


def _side_effects(session: Session, incoming: Incoming, routing: Routing, message_id: int) -> list[int]:
    """Opt-out bookkeeping and our own answers (outbox rows); returns outbox ids to deliver after commit."""
    outbox_ids: list[int] = []
    keyword = routing.keyword
    if keyword is not None:
        optout.record(routing.contact, keyword)
        if not keyword.answered_by_twilio(incoming.channel):
            supplier_name = routing.supplier.name if routing.supplier is not None else "chat2order"
            text = optout.answer_text(keyword, supplier_name, _locale(routing))
            if text:
                key = f"{keyword.kind}:{message_id}"
                row = _reply(session, incoming, message_id, key, text, purpose=f"keyword_{keyword.kind}")
                outbox_ids += [row] if row else []
    elif routing.status == UNKNOWN_SENDER:
        row = _unknown_sender_reply(session, incoming, routing, message_id)
        outbox_ids += [row] if row else []
    return outbox_ids


def _locale(routing: Routing) -> str | None:
    if routing.contact is not None and routing.contact.locale:
        return routing.contact.locale
    return routing.supplier.locale if routing.supplier is not None else None


def _unknown_sender_reply(
    session: Session, incoming: Incoming, routing: Routing, message_id: int
) -> int | None:
    """One polite answer per unknown number per 24 h, never to an opted-out number or an email robot."""
    if incoming.channel == "chat":
        return None
    sender = _reply_address(incoming)
    if sender is None:
        return None
    if "@" not in sender and optout.is_opted_out(session, sender):
        return None
    since = utcnow() - UNKNOWN_SENDER_REPLY_EVERY
    recent = session.scalar(
        select(func.count())
        .select_from(OutboundMessage)
        .where(
            OutboundMessage.recipient == sender,
            OutboundMessage.purpose == "unknown_sender",
            OutboundMessage.created_at >= since,
        )
    )
    if recent:
        return None
    supplier_name = routing.supplier.name if routing.supplier is not None else "chat2order"
    from chat2order.i18n import t

    text = t(_locale(routing), UNKNOWN_SENDER_TEXT, supplier=supplier_name)
    # The day in the key makes two racing first messages from one number produce one answer.
    digest = hashlib.sha256(sender.encode()).hexdigest()[:32]
    key = f"unknown_sender:{digest}:{utcnow().date().isoformat()}"
    return _reply(session, incoming, message_id, key, text, purpose="unknown_sender")


def _reply_address(incoming: Incoming) -> str | None:
    sender = (incoming.sender or "").strip()
    if "@" in sender:
        return sender.lower()
    return phones.to_e164(sender)


def _reply(
    session: Session, incoming: Incoming, message_id: int, key: str, body: str, *, purpose: str
) -> int | None:
    """Write our answer to the outbox in this transaction; None if an identical answer already exists."""
    try:
        from chat2order.ordering import outbox
    except ImportError:  # TODO(outbox): remove once chat2order.ordering.outbox (dispatch engineer) has landed
        log.warning("outbox not available yet; answer %s not written", key)
        return None

    channel = "sms" if incoming.channel == "voicemail" else incoming.channel
    sender = incoming.sender.strip()
    recipient = sender.lower() if channel == "email" else (phones.to_e164(sender) or phones.strip_scheme(sender))
    try:
        with session.begin_nested():
            row = outbox.add(
                session,
                channel=channel,
                recipient=recipient,
                body=body,
                purpose=purpose,
                idempotency_key=key,
                subject=f"Re: {incoming.subject}" if channel == "email" and incoming.subject else None,
                inbound_message_id=message_id,
            )
            session.flush()
    except IntegrityError:
        log.info("answer %s already written; not answering twice", key)
        return None
    return row.id


def _enqueue_after_commit(rt: Runtime, result: Received, outbox_ids: list[int]) -> None:
    """Queue the work; a queue outage is logged, not raised: the rows are stored and the relay / recovery
    sweep picks them up, while the sender already got its success answer."""
    try:
        if result.status == RECEIVED:
            rt.queue.enqueue("process_message", result.message_id)
        for outbox_id in outbox_ids:
            rt.queue.enqueue("deliver", outbox_id)
    except Exception:
        log.exception("could not enqueue work for inbound message %s; recovery will requeue it", result.message_id)


def requeue_received(rt: Runtime, *, older_than: dt.timedelta = dt.timedelta(0), limit: int = 1000) -> int:
    """Enqueue processing for messages still waiting in `received` (after a crash or a queue outage)."""
    cutoff = utcnow() - older_than
    with rt.sessionmaker() as session:
        ids = list(
            session.scalars(
                select(InboundMessage.id)
                .where(InboundMessage.status == RECEIVED, InboundMessage.received_at <= cutoff)
                .order_by(InboundMessage.id)
                .limit(limit)
            )
        )
    for message_id in ids:
        rt.queue.enqueue("process_message", message_id)
    return len(ids)


def supplier_locale(rt: Runtime, recipient: str) -> str | None:
    """The locale of the supplier reached at `recipient` (its Twilio number), for prompts read aloud."""
    number = phones.to_e164(recipient)
    if number is None:
        return None
    with rt.sessionmaker() as session:
        return session.scalar(select(Supplier.locale).where(Supplier.inbound_phone == number))
