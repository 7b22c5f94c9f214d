"""Processing one stored inbound message: a reply to a pending order, or a new order to confirm.

`process_message(rt, message_id)` is the `process_message` job's service. In one transaction it

- reads the message (locked on PostgreSQL, so two workers never process it at once) and returns at once
  if it was already processed (`status` no longer `received`/`failed`): running it twice is harmless;
- if the contact has an order awaiting their answer with this supplier (or an automatically confirmed one
  still before its cut-off) and the text reads as a reply (`parsing.replies`), applies it: confirm (the
  supplier's order sheet is written to the outbox in the same transaction), answer, edit, cancel; each
  change is confirmed back to the chef; a cancel or change for a confirmed order past its cut-off gets
  "too late, call the supplier" (status `too_late`);
- otherwise parses the text with the supplier's catalog and the restaurant's history, stores what was read
  in `meta["parse"]`, and for an order makes a draft, picks the delivery day (cut-off and delivery days,
  `schedule`), and writes the confirmation to the chef (status `awaiting_chef`), or confirms it at once when
  the supplier auto-confirms, every line is confident and the chef's day could be kept;
- commits, then enqueues `deliver` for every outbox row written; with `send_replies=True` (the job, in a
  worker) the messages to the chef are sent right away by this job instead, since the chef is waiting for
  them: one queue round trip less per message, and the confirmation does not wait behind other jobs. A send
  that does not go through at once falls back to its own `deliver` job (and its retries).

A failure rolls back, leaves `status='failed'` with the error, and re-raises for the job's retry.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, bindparam, exists, func, select
from sqlalchemy.orm import Session, aliased, joinedload

from chat2order import i18n, metrics
from chat2order.errors import Chat2OrderError, InvalidInput, NotFound
from chat2order.i18n import t
from chat2order.ordering import confirmations, orders
from chat2order.ordering.confirmations import Notice
from chat2order.ordering.schedule import DeliveryPlan, Schedule, can_still_edit, plan_delivery
from chat2order.parsing.model import ParseContext, ParsedOrder
from chat2order.tables import CatalogItem, InboundMessage, Order, OutboundMessage, Supplier

if TYPE_CHECKING:
    from chat2order.parsing.replies import Edit, Reply, ReplyLine
    from chat2order.runtime import Runtime

log = logging.getLogger(__name__)

PROCESSABLE = frozenset({"received", "failed"})
AWAITING_CHEF = "awaiting_chef"
AUTO_CONFIRMED = "confirmed"
NO_ORDER = "no_order"
REPLY = "reply"
TOO_LATE = "too_late"  # a change asked for after the cut-off; the chef was told to call the supplier
FAILED = "failed"
PHONE_CHANNELS = frozenset({"sms", "whatsapp", "voicemail"})


def process_message(rt: Runtime, message_id: int, *, send_replies: bool = False) -> None:
    """Process one inbound message (see module docstring); idempotent."""
    try:
        written = _process(rt, message_id)
    except Exception as exc:
        _mark_failed(rt, message_id, exc)
        raise
    # Only now that the transaction committed may a worker look for these rows.
    for outbox_id, purpose in written:
        if send_replies and purpose not in SENT_BY_ITS_OWN_JOB and _sent_now(rt, outbox_id):
            continue
        rt.queue.enqueue("deliver", outbox_id)


# Outbox rows for the supplier (the order sheet with its attachments, cancellations) keep their own job.
SENT_BY_ITS_OWN_JOB = frozenset({"order_sheet", "order_cancelled"})


def _sent_now(rt: Runtime, outbox_id: int) -> bool:
    """Deliver one row in this job; False when it must go to the queue after all.

    A send deferred by `deliver` (transient failure) already carries its retry time: the outbox relay
    republishes it when due, so it is not queued again now; anything unexpected goes to a `deliver` job.
    """
    from chat2order.ordering import dispatch

    try:
        dispatch.deliver(rt, outbox_id)
    except dispatch.DeliveryDeferred as exc:
        log.info("outbox row %s deferred (%s); the relay retries it when due", outbox_id, exc)
    except Exception:
        log.warning("outbox row %s not sent in the processing job; queued for delivery", outbox_id, exc_info=True)
        return False
    return True


def _process(rt: Runtime, message_id: int) -> list[tuple[int, str]]:
    with rt.sessionmaker() as session:
        message, checks = _lock(session, message_id)
        if message.status not in PROCESSABLE:
            return []
        if checks.has_order:
            return []  # an earlier run made the order (its status update cannot be lost, same transaction)
        if message.restaurant_id is None or message.supplier_id is None:
            raise InvalidInput(f"inbound message {message_id} has no restaurant or supplier")
        _wait_for_earlier(session, message, checks)
        message.attempts = (message.attempts or 0) + 1
        run = _Run(rt, session, message, checks)
        rows = run.go()
        message.error = None
        session.commit()
        return [(row.id, row.purpose) for row in rows]


@dataclass(frozen=True)
class _Checks:
    """What the job must know about a message before working on it, read with the message in one statement
    (one round trip instead of five): whether it already has an order, the same chef's newest earlier
    message still waiting to be processed, and whether the chef has any order a reply could be about.

    Valid for the `contact_id`/`supplier_id` they were read for; anything that reassigns the message (routing)
    makes the helpers below fall back to their own queries."""

    contact_id: int | None
    supplier_id: int | None
    has_order: bool
    earlier_id: int | None  # newest earlier `received` message of the same chef and supplier
    earlier_at: dt.datetime | None
    open_orders: bool  # an order awaiting the chef or confirmed (a reply may be about it)
    latest_delivery: dt.date | None  # newest delivery day of a confirmed/dispatched order ("too late" check)
    catalog_version: int | None  # the supplier's, for the catalog index cache

    def valid_for(self, message: InboundMessage) -> bool:
        return self.contact_id == message.contact_id and self.supplier_id == message.supplier_id


@functools.cache
def _lock_statement() -> Select[Any]:
    """The `_lock` query, built once: constructing it (an alias, five subqueries, eager joins) costs several
    times what running it does."""
    m = InboundMessage
    earlier = aliased(InboundMessage)
    same_chef = (
        earlier.contact_id == m.contact_id,
        earlier.supplier_id == m.supplier_id,
        earlier.id != m.id,
        earlier.status == "received",
        earlier.received_at <= m.received_at,
    )
    newest_earlier = select(earlier.id, earlier.received_at).where(*same_chef).order_by(
        earlier.received_at.desc(), earlier.id.desc()
    ).limit(1)
    chef_orders = (Order.contact_id == m.contact_id, Order.supplier_id == m.supplier_id)
    return (
        select(
            m,
            exists().where(Order.source_message_id == m.id).label("has_order"),
            newest_earlier.with_only_columns(earlier.id).scalar_subquery().label("earlier_id"),
            newest_earlier.with_only_columns(earlier.received_at).scalar_subquery().label("earlier_at"),
            exists().where(*chef_orders, Order.status.in_((AWAITING_CHEF, "confirmed"))).label("open_orders"),
            select(func.max(Order.delivery_date))
            .where(*chef_orders, Order.status.in_(("confirmed", "dispatched")))
            .scalar_subquery()
            .label("latest_delivery"),
            # A column of its own rather than the eager-loaded Supplier's attribute, which a session that
            # already held the supplier would not refresh.
            select(Supplier.catalog_version)
            .where(Supplier.id == m.supplier_id)
            .scalar_subquery()
            .label("catalog_version"),
        )
        .where(m.id == bindparam("message_id"))
        .options(joinedload(m.supplier), joinedload(m.restaurant), joinedload(m.contact))
        .with_for_update(of=m)
    )


def _lock(session: Session, message_id: int) -> tuple[InboundMessage, _Checks]:
    """The message locked for this transaction (PostgreSQL), its supplier, restaurant and contact loaded
    with it, and its `_Checks`."""
    row = session.execute(_lock_statement(), {"message_id": message_id}).one_or_none()
    if row is None:
        raise NotFound(f"inbound message {message_id} does not exist")
    message = row[0]
    earlier_at = row.earlier_at
    checks = _Checks(
        contact_id=message.contact_id,
        supplier_id=message.supplier_id,
        has_order=bool(row.has_order),
        earlier_id=row.earlier_id,
        earlier_at=aware(earlier_at) if earlier_at is not None else None,
        open_orders=bool(row.open_orders),
        latest_delivery=row.latest_delivery,
        catalog_version=row.catalog_version,
    )
    return message, checks


class EarlierMessagePending(Chat2OrderError):
    """The same chef's previous message to this supplier is not processed yet; retry this one later."""


# How far back an unprocessed message of the same chef holds a later one (a "yes" must not overtake the
# order it answers when two workers pick them up at once); older leftovers never block anything.
ORDERING_WINDOW = dt.timedelta(minutes=10)


def _wait_for_earlier(session: Session, message: InboundMessage, checks: _Checks | None = None) -> None:
    if message.contact_id is None:
        return
    received_at = aware(message.received_at)
    if checks is not None and checks.valid_for(message):
        # The newest earlier message decides: if it is outside the window, every other one is too.
        if checks.earlier_at is not None and checks.earlier_at >= received_at - ORDERING_WINDOW:
            raise EarlierMessagePending(
                f"waiting for message {checks.earlier_id} of the same chef to be processed first"
            )
        return
    earlier = session.scalar(
        select(InboundMessage.id)
        .where(
            InboundMessage.contact_id == message.contact_id,
            InboundMessage.supplier_id == message.supplier_id,
            InboundMessage.id != message.id,
            InboundMessage.status == "received",
            InboundMessage.received_at <= message.received_at,
            InboundMessage.received_at >= received_at - ORDERING_WINDOW,
        )
        .limit(1)
    )
    if earlier is not None:
        raise EarlierMessagePending(f"waiting for message {earlier} of the same chef to be processed first")


def _mark_failed(rt: Runtime, message_id: int, exc: Exception) -> None:
    try:
        with rt.sessionmaker() as session:
            message = session.get(InboundMessage, message_id)
            if message is not None and message.status in PROCESSABLE:
                message.status = FAILED
                message.error = f"{type(exc).__name__}: {exc}"[:4000]
                session.commit()
    except Exception:  # the original error matters more; the job's retry will try again
        log.exception("could not record the failure of inbound message %s", message_id)


def aware(value: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes; they are stored in UTC."""
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


@dataclass
class _Run:
    rt: Runtime
    session: Session
    message: InboundMessage
    checks: _Checks | None = None

    def __post_init__(self) -> None:
        m = self.message
        self.supplier = m.supplier
        self.restaurant = m.restaurant
        self.contact = m.contact
        self.received_at = aware(m.received_at)
        zone = (self.restaurant.timezone if self.restaurant else None) or self.supplier.timezone or "UTC"
        self.local_received = self.received_at.astimezone(ZoneInfo(zone))
        self.locale = (
            (self.contact.locale if self.contact else None)
            or (self.restaurant.locale if self.restaurant else None)
            or self.supplier.locale
        )
        self.schedule = Schedule.of(self.supplier)
        self.written: list[OutboundMessage] = []

    def _checks_valid(self) -> bool:
        return self.checks is not None and self.checks.valid_for(self.message)

    # --- the two paths ------------------------------------------------------------------------------------

    def go(self) -> list[OutboundMessage]:
        # Reads that need none of this job's changes: the message's row is then written once, with the order.
        with self.session.no_autoflush:
            context = self.rt.contexts.build(
                self.session,
                restaurant_id=self.message.restaurant_id,
                supplier_id=self.message.supplier_id,
                received_at=self.local_received,
                channel=self.message.channel,
                catalog_version=self.checks.catalog_version if self._checks_valid() else None,
            )
            pending = self._pending_order()
        reply = self._read_reply(pending, context) if pending is not None else None
        if pending is not None and reply is not None and reply.kind != "unknown":
            self._apply_reply(pending, reply, context)
            self.message.status = REPLY
            return self.written
        if pending is None and self._too_late_to_change(context):
            self.message.status = TOO_LATE
            return self.written
        parsed = self._parse(context)
        if parsed.intent != "order" or not parsed.lines:
            self.message.status = NO_ORDER
            # A waiting chef who wrote something we could not use gets a reminder; a plain "thanks" does not.
            if pending is not None and pending.status == AWAITING_CHEF and reply is not None and reply.not_understood:
                self._tell(pending, "not_understood", purpose="reply")
            return self.written
        self._new_order(parsed)
        return self.written

    def _parse(self, context: ParseContext) -> ParsedOrder:
        from chat2order.parsing import parse

        with metrics.PARSE_SECONDS.time():
            parsed = parse(self.message.body or "", context)
        for line in parsed.lines:
            outcome = "flagged" if line.needs_review else "not_carried" if line.sku is None else "matched"
            metrics.LINES.labels(outcome).inc()
        self.message.meta = {
            **(self.message.meta or {}),
            "parse": {
                "intent": parsed.intent,
                "intent_confidence": round(float(parsed.intent_confidence), 4),
                "requested_delivery_date": parsed.delivery_date.isoformat() if parsed.delivery_date else None,
                "language": parsed.language,
                "lines": len(parsed.lines),
                "needs_review": parsed.needs_review,
                "notes": list(parsed.notes),
            },
        }
        if parsed.language:
            # Answer in the language the chef wrote in; keep their region for money and dates when it fits.
            own = (self.locale or "en-US").split("-")[0].lower()
            if parsed.language != own:
                self.locale = parsed.language
        return parsed

    def _new_order(self, parsed: ParsedOrder) -> None:
        plan = plan_delivery(self.schedule, self.received_at, parsed.delivery_date)
        with self.session.no_autoflush:
            items = orders.catalog_items(self.session, self.message.supplier_id, orders.parsed_skus(parsed))
        order = orders.draft_order(
            self.session,
            message=self.message,
            parsed=parsed,
            delivery_date=plan.delivery_date,
            locale=self.locale,
            currency=self.supplier.currency,
            items=items,
            add=False,
        )
        notice = Notice(
            requested=plan.requested if plan.moved else None,
            reason=plan.reason,
            deadline=plan.deadline,
        )
        confident = all(not line.needs_review for line in order.lines)
        carried = any(line.catalog_item_id is not None for line in order.lines)
        if self.supplier.auto_confirm and confident and carried and not plan.moved:
            # Confirming changes the order and writes the sheet through the unit of work: a tracked order.
            self.session.add(order)
            self.session.flush()
            self.written += orders.confirm(self.session, order)
            self.message.status = AUTO_CONFIRMED
            self._tell(order, "auto_confirmed", purpose="confirmation", notice=notice, items=items)
        else:
            # Decided before the insert, so the order is inserted with its status, not updated after. Nothing
            # changes it in this job: Core inserts, not the unit of work (`orders.insert_new`).
            orders.transition(order, AWAITING_CHEF)
            orders.insert_new(self.session, order)
            self.message.status = AWAITING_CHEF
            self._tell(order, "draft", purpose="confirmation", notice=notice, items=items)

    # --- replies ------------------------------------------------------------------------------------------

    def _pending_order(self) -> Order | None:
        """The contact's latest order with this supplier that waits for them or may still be edited."""
        if self.message.contact_id is None:
            return None
        if self._checks_valid() and self.checks is not None and not self.checks.open_orders:
            return None
        candidates = self.session.scalars(
            select(Order)
            .where(
                Order.contact_id == self.message.contact_id,
                Order.supplier_id == self.message.supplier_id,
                Order.status.in_((AWAITING_CHEF, "confirmed")),
            )
            .order_by(Order.placed_at.desc(), Order.id.desc())
            .limit(5)
        )
        for order in candidates:
            if aware(order.placed_at) > self.received_at:
                continue
            # Past its cut-off an unanswered draft can no longer make its delivery: a new message then is
            # a new order, not an answer to a stale one.
            if order.dispatched_at is None and can_still_edit(self.schedule, order.delivery_date, self.received_at):
                return order
        return None

    def _too_late_to_change(self, context: ParseContext) -> bool:
        """A cancel or change for a confirmed order past its cut-off: say so instead of reading a new order."""
        if self.message.contact_id is None:
            return False
        if self._checks_valid() and self.checks is not None and (
            self.checks.latest_delivery is None or self.checks.latest_delivery < self.local_received.date()
        ):
            return False
        order = self.session.scalar(
            select(Order)
            .where(
                Order.contact_id == self.message.contact_id,
                Order.supplier_id == self.message.supplier_id,
                Order.status.in_(("confirmed", "dispatched")),
                Order.delivery_date >= self.local_received.date(),
            )
            .order_by(Order.placed_at.desc(), Order.id.desc())
            .limit(1)
        )
        if order is None or aware(order.placed_at) > self.received_at:
            return False
        reply = self._read_reply(order, context)
        changes = reply.kind == "cancel" or (
            reply.kind == "edit" and all(edit.action in ("set", "remove", "date") for edit in reply.edits)
        )
        if changes:
            self._tell(order, "too_late", purpose="reply")
        return changes

    def _reply_lines(self, order: Order) -> list[ReplyLine]:
        from chat2order.parsing.replies import ReplyLine

        numbered = confirmations.option_numbers(order)
        names = _names(self.session, order)
        result = []
        for line in order.lines:
            result.append(
                ReplyLine(
                    position=line.position,
                    text=line.text,
                    name=line.item.name if line.item is not None else "",
                    sku=line.item.sku if line.item is not None else None,
                    quantity=line.quantity,
                    unit=line.unit,
                    options=tuple((n, sku, names.get(sku, sku)) for n, owner, sku in numbered if owner is line),
                )
            )
        return result

    def _read_reply(self, order: Order, context: ParseContext) -> Reply:
        from chat2order.parsing.cleanup import clean
        from chat2order.parsing.replies import parse_reply

        text = clean(self.message.body or "", self.message.channel, self.locale).text
        return parse_reply(text, self._reply_lines(order), context)

    def _apply_reply(self, order: Order, reply: Reply, context: ParseContext) -> None:
        locale = order.locale or self.locale
        self.locale = locale
        if reply.kind == "cancel":
            was_confirmed = order.status == "confirmed"
            orders.cancel(order)
            if was_confirmed:
                self._tell_supplier_cancelled(order)
            self._tell(order, "cancelled", purpose="reply")
            return
        changes: list[str] = []
        moved: DeliveryPlan | None = None
        by_position = {line.position: line for line in order.lines}
        for edit in reply.edits:
            if edit.action == "date" and edit.delivery_date is not None:
                moved = self._move_delivery(order, edit.delivery_date, changes, locale)
                continue
            line = by_position.get(edit.position) if edit.position is not None else None
            changes.extend(self._apply_edit(order, line, edit, locale))
        self.session.flush()
        notice = Notice(changes=tuple(changes))
        if moved is not None and moved.moved:
            notice = Notice(requested=moved.requested, reason=moved.reason, changes=tuple(changes))
        if order.status == "confirmed":
            # An automatically confirmed order edited before its cut-off: the supplier gets the new sheet.
            self.written += _requeue_sheet(self.session, order, revision=f"edit{self.message.id}")
            self._tell(order, "updated", purpose="reply", notice=notice)
            return
        if reply.confirm or reply.kind == "confirm":
            blocking = [line for line in order.lines if orders.blocks_confirmation(line)]
            carried = any(line.catalog_item_id is not None for line in order.lines)
            if not blocking and carried:
                self.written += orders.confirm(self.session, order)
                self._tell(order, "confirmed", purpose="reply", notice=notice)
                return
            if blocking:
                notice = replace(notice, changes=(*notice.changes, t(locale, "Please answer the questions first.")))
        self._tell(order, "updated", purpose="reply", notice=notice)

    def _move_delivery(self, order: Order, requested: dt.date, changes: list[str], locale: str) -> DeliveryPlan:
        """Move the order to the day the chef asked for, or to the supplier's next possible day (they are told)."""
        plan = plan_delivery(self.schedule, self.received_at, requested)
        order.delivery_date = plan.delivery_date
        if not plan.moved:
            changes.append(t(locale, "Delivery day: {date}.", date=i18n.day(plan.delivery_date, locale)))
        return plan

    def _apply_edit(self, order: Order, line: Any, edit: Edit, locale: str) -> list[str]:
        if edit.action == "add":
            added = orders.add_lines(self.session, order, edit.lines)
            self.session.flush()
            return [t(locale, "Added: {items}.", items=", ".join(_line_words(locale, a) for a in added))]
        if line is None:
            return []
        what = line.item.name if line.item is not None else line.text
        if edit.action == "remove":
            orders.remove_line(order, line)
            return [t(locale, "Removed: {product}.", product=what)]
        if edit.action == "set" and edit.quantity is not None:
            orders.set_quantity(order, line, edit.quantity, edit.unit)
            qty = confirmations.quantity_text(locale, line.quantity, line.unit)
            return [t(locale, "Changed: {product}, now {quantity}.", product=what, quantity=qty)]
        if edit.action == "choose" and edit.sku:
            orders.choose(self.session, order, line, edit.sku)
            assert line.item is not None
            return [t(locale, "Chosen: {product}.", product=line.item.name)]
        return []

    def _tell_supplier_cancelled(self, order: Order) -> None:
        from chat2order.ordering import dispatch

        notify = getattr(dispatch, "queue_cancellation", None)
        if notify is not None:
            self.written += list(notify(self.session, order))

    # --- telling the chef ---------------------------------------------------------------------------------

    def _tell(
        self,
        order: Order,
        kind: confirmations.Kind,
        *,
        purpose: str,
        notice: Notice | None = None,
        items: Mapping[str, CatalogItem] | None = None,
    ) -> None:
        """Write the message to the chef to the outbox (nothing by SMS to someone who opted out)."""
        from chat2order.ordering import outbox
        from chat2order.phones import strip_scheme

        message = self.message
        channel = "sms" if message.channel == "voicemail" else message.channel
        if channel in PHONE_CHANNELS and self.contact is not None and self.contact.sms_opted_out:
            return
        self.session.flush()
        rendered = confirmations.render(
            order, kind, channel=channel, locale=self.locale, notice=notice or Notice(), items=items
        )
        recipient = message.sender.lower() if channel == "email" else strip_scheme(message.sender)
        subject = rendered.subject
        if channel == "email" and message.subject:
            subject = f"Re: {message.subject}"
        row = outbox.add(
            self.session,
            channel=channel,
            recipient=recipient,
            body=rendered.body,
            purpose=purpose,
            idempotency_key=f"inbound:{message.id}:{purpose}",
            subject=subject if channel == "email" else None,
            html=rendered.html if channel == "email" else None,
            order_id=order.id,
            inbound_message_id=message.id,
        )
        self.written.append(row)


def _requeue_sheet(session: Session, order: Order, *, revision: str) -> list[OutboundMessage]:
    from chat2order.ordering import dispatch

    return list(dispatch.queue_order_sheet(session, order, revision=revision))


def _names(session: Session, order: Order) -> dict[str, str]:
    from chat2order.tables import CatalogItem

    skus = {sku for line in order.lines for sku in orders.options(line)}
    if not skus:
        return {}
    rows = session.execute(
        select(CatalogItem.sku, CatalogItem.name).where(
            CatalogItem.supplier_id == order.supplier_id, CatalogItem.sku.in_(sorted(skus))
        )
    )
    return {sku: name for sku, name in rows}


def _line_words(locale: str, line: Any) -> str:
    name = line.item.name if line.item is not None else line.text
    qty: Decimal | None = line.quantity
    return f"{confirmations.quantity_text(locale, qty, line.unit)} {name}".strip()
