"""Routing an incoming message: who wrote (contact), for which restaurant, to which supplier, and the
status it is stored with. Reads only; the intake service owns the transaction.

Supplier, in order: the hint of an authenticated channel; the address written to (a supplier's
`inbound_phone` or `inbound_email`, or `orders+<slug>@<one of our mail domains>`); for a known contact
writing to a shared number, the restaurant's only supplier or the one its text names unambiguously.
Contact: the hint, else the sender's E.164 number (`whatsapp:` stripped) or email address.

The common case, a text from a `+E.164` number to a supplier's number, is answered by one Core query that
reads only ids (the webhook's hot path: two ORM entity loads cost more CPU than everything else it does);
the ORM objects are loaded only when a side effect needs them (`Routing.contact`, `Routing.supplier`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rapidfuzz import fuzz
from sqlalchemy import bindparam, false, func, literal, null, select, union_all
from sqlalchemy.orm import Session

from chat2order import phones
from chat2order.ordering import optout
from chat2order.tables import Account, Contact, Supplier

if TYPE_CHECKING:
    from chat2order.ordering.intake import Incoming

PHONE_CHANNELS = ("sms", "whatsapp", "voicemail")

RECEIVED = "received"
UNKNOWN_SENDER = "unknown_sender"
IGNORED_AUTO_REPLY = "ignored_auto_reply"
NEEDS_ATTENTION = "needs_attention"

# A supplier named in a message to a shared number must match this well (rapidfuzz partial_ratio, 0..100).
NAME_MATCH_MIN = 88
LEGAL_SUFFIXES = frozenset(
    {"co", "inc", "ltd", "llc", "corp", "company", "sa", "srl", "spa", "lda", "sl", "sas", "sarl", "gmbh", "the"}
)

@dataclass
class Routing:
    """Who wrote, for which restaurant, to which supplier, and what to do with the message."""

    contact_id: int | None = None
    restaurant_id: int | None = None
    supplier_id: int | None = None
    status: str = RECEIVED
    error: str | None = None
    keyword: optout.Keyword | None = None
    contact_opted_out: bool = False
    session: Session | None = field(default=None, repr=False, compare=False)
    _loaded: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def contact(self) -> Contact | None:
        """The contact row (loaded on first use; the session's identity map makes a second use free)."""
        return self._load("contact", Contact, self.contact_id)

    @property
    def supplier(self) -> Supplier | None:
        return self._load("supplier", Supplier, self.supplier_id)

    def _load(self, key: str, model: Any, row_id: int | None) -> Any:
        if row_id is None:
            return None
        if key not in self._loaded:
            assert self.session is not None, "routing made without a session"
            self._loaded[key] = self.session.get(model, row_id)
        return self._loaded[key]

    def _set_contact(self, contact: Contact | None) -> None:
        self._loaded["contact"] = contact
        self.contact_id = contact.id if contact is not None else None
        self.contact_opted_out = bool(contact is not None and contact.sms_opted_out)

    def _set_supplier(self, supplier: Supplier | None) -> None:
        self._loaded["supplier"] = supplier
        self.supplier_id = supplier.id if supplier is not None else None


def route(session: Session, incoming: Incoming, mail_domains: Iterable[str]) -> Routing:
    """Resolve contact, restaurant and supplier, then the status the message is stored with."""
    routing = Routing(session=session)
    if not _route_by_numbers(session, incoming, routing):
        routing._set_supplier(_supplier_by_recipient(session, incoming, mail_domains))
        routing._set_contact(_contact(session, incoming, routing.supplier))
        if routing.contact is not None:
            routing.restaurant_id = routing.contact.restaurant_id
    if routing.contact_id is None and incoming.restaurant_id is not None:
        routing.restaurant_id = incoming.restaurant_id
    if routing.supplier_id is None and routing.restaurant_id is not None:
        routing._set_supplier(_supplier_for_restaurant(session, routing.restaurant_id, incoming.body))
    routing.status, routing.error, routing.keyword = _status(session, incoming, routing)
    return routing


def _route_by_numbers(session: Session, incoming: Incoming, routing: Routing) -> bool:
    """The plain phone case in one round trip of ids: a `+E.164` sender (so the supplier's region cannot
    change how the number reads) writing to a number. False when the message needs the general path."""
    if incoming.supplier_id is not None or incoming.contact_id is not None:
        return False
    recipient = (incoming.recipient or "").strip()
    sender = phones.strip_scheme(incoming.sender or "")
    if "@" in recipient or not recipient or not sender.startswith("+"):
        return False
    to, frm = phones.to_e164(recipient), phones.to_e164(sender)
    if to is None or frm is None:
        return False
    rows = session.connection().execute(_by_numbers_statement(), {"to": to, "frm": frm}).all()
    suppliers = [row for row in rows if row.kind == "s"]
    contacts = sorted((row for row in rows if row.kind == "c"), key=lambda row: row.id)
    routing.supplier_id = suppliers[0].id if suppliers else None
    if contacts:
        routing.contact_id, routing.restaurant_id = contacts[0].id, contacts[0].restaurant_id
        routing.contact_opted_out = bool(contacts[0].opted_out)
    return True


@functools.cache
def _by_numbers_statement() -> Any:
    """`SELECT 's', id ... FROM suppliers WHERE inbound_phone = :to UNION ALL SELECT 'c', id ... FROM contacts
    WHERE phone = :frm`, built once (both databases run it; SQLAlchemy caches its compiled form)."""
    s, c = Supplier.__table__, Contact.__table__
    return union_all(
        select(literal("s").label("kind"), s.c.id, null().label("restaurant_id"), false().label("opted_out"))
        .where(s.c.inbound_phone == bindparam("to")),
        select(literal("c"), c.c.id, c.c.restaurant_id, c.c.sms_opted_out).where(c.c.phone == bindparam("frm")),
    )


def _supplier_by_recipient(session: Session, incoming: Incoming, mail_domains: Iterable[str]) -> Supplier | None:
    if incoming.supplier_id is not None:
        return session.get(Supplier, incoming.supplier_id)
    recipient = (incoming.recipient or "").strip()
    if not recipient:
        return None
    if "@" in recipient:
        address = recipient.lower()
        found = session.scalar(select(Supplier).where(func.lower(Supplier.inbound_email) == address))
        if found is not None:
            return found
        local, _, domain = address.rpartition("@")
        base, plus, tag = local.partition("+")
        ours = domain in {d.lower() for d in mail_domains}
        if plus and base == "orders" and tag and ours:
            return session.scalar(select(Supplier).where(Supplier.slug == tag))
        if ours:  # an inbound address stored as a bare local part ("greenleaf") means <local>@<our domain>
            return session.scalar(select(Supplier).where(func.lower(Supplier.inbound_email) == local))
        return None
    number = phones.to_e164(recipient)
    if number is None:
        return None
    return session.scalar(select(Supplier).where(Supplier.inbound_phone == number))


def _contact(session: Session, incoming: Incoming, supplier: Supplier | None) -> Contact | None:
    if incoming.contact_id is not None:
        return session.get(Contact, incoming.contact_id)
    sender = (incoming.sender or "").strip()
    if "@" in sender:
        candidates = list(
            session.scalars(
                select(Contact).where(func.lower(Contact.email) == sender.lower()).order_by(Contact.id)
            )
        )
        if len(candidates) > 1 and supplier is not None:
            # One address shared by contacts of several restaurants: prefer the one buying from this supplier.
            buying = set(
                session.scalars(select(Account.restaurant_id).where(Account.supplier_id == supplier.id))
            )
            candidates.sort(key=lambda c: c.restaurant_id not in buying)
        return candidates[0] if candidates else None
    region = phones.region_of(supplier.locale if supplier is not None else None)
    number = phones.to_e164(sender, region)
    if number is None:
        return None
    return session.scalar(select(Contact).where(Contact.phone == number))


def _supplier_for_restaurant(session: Session, restaurant_id: int, text: str) -> Supplier | None:
    """A shared number: the restaurant's only supplier, or the one its text names unambiguously."""
    suppliers = list(
        session.scalars(
            select(Supplier).join(Account, Account.supplier_id == Supplier.id).where(
                Account.restaurant_id == restaurant_id
            )
        )
    )
    if len(suppliers) == 1:
        return suppliers[0]
    if not suppliers or not text:
        return None
    head = text[:500].lower()
    scored = sorted(((_name_score(s.name, head), s) for s in suppliers), key=lambda pair: -pair[0])
    if scored[0][0] < NAME_MATCH_MIN:
        return None
    if scored[1][0] >= scored[0][0] - 5:
        return None  # two suppliers named about equally well: a person decides
    return scored[0][1]


def _name_score(name: str, text: str) -> float:
    """How well `text` names a supplier: chefs write "green valley" for "Green Valley Produce Co", so the
    name is also tried without legal suffixes and as its first two words."""
    words = [w for w in re.split(r"[\s,.&]+", name.lower()) if w]
    core = [w for w in words if w not in LEGAL_SUFFIXES] or words
    variants = {" ".join(words), " ".join(core), " ".join(core[:2])}
    return max((fuzz.partial_ratio(v, text) for v in variants if len(v) >= 5), default=0.0)


def _status(
    session: Session, incoming: Incoming, routing: Routing
) -> tuple[str, str | None, optout.Keyword | None]:
    meta = incoming.meta or {}
    if meta.get("auto_reply"):
        return IGNORED_AUTO_REPLY, None, None
    if incoming.channel in ("sms", "whatsapp"):
        keyword = optout.match(incoming.body)
        if keyword is not None and _keyword_applies(session, incoming, routing, keyword):
            return optout.STATUS_FOR[keyword.kind], None, keyword
    if routing.contact_id is None:
        return UNKNOWN_SENDER, None, None
    if meta.get("media"):
        return NEEDS_ATTENTION, "message has media attachments (MMS) a person must look at", None
    if meta.get("hold_reason"):
        return NEEDS_ATTENTION, str(meta["hold_reason"]), None
    if routing.supplier_id is None:
        return NEEDS_ATTENTION, "no supplier could be determined for this message", None
    if incoming.channel in PHONE_CHANNELS and routing.contact_opted_out:
        return NEEDS_ATTENTION, "sender opted out of text messages (STOP); they must send START first", None
    return RECEIVED, None, None


def _keyword_applies(
    session: Session, incoming: Incoming, routing: Routing, keyword: optout.Keyword
) -> bool:
    """START-like words ("yes") opt in only someone who opted out; otherwise they answer a confirmation."""
    if keyword.kind != "start":
        return True
    if keyword.word == "START" or keyword.word == "UNSTOP":
        return True
    if routing.contact_id is not None:
        return routing.contact_opted_out
    number = phones.to_e164(incoming.sender)
    return number is not None and optout.is_opted_out(session, number)
