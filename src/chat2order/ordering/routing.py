"""Routing an incoming message: who wrote (contact), for which restaurant, to which supplier, and the
status it is stored with. Reads only; the intake service owns the transaction.

Supplier, in order: the hint of an authenticated channel; the address written to (a supplier's
`inbound_phone` or `inbound_email`, or `orders+<slug>@<one of our mail domains>`); for a known contact
writing to a shared number, the restaurant's only supplier or the one its text names unambiguously.
Contact: the hint, else the sender's E.164 number (`whatsapp:` stripped) or email address.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rapidfuzz import fuzz
from sqlalchemy import func, select
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

    contact: Contact | None = None
    restaurant_id: int | None = None
    supplier: Supplier | None = None
    status: str = RECEIVED
    error: str | None = None
    keyword: optout.Keyword | None = None

    @property
    def contact_id(self) -> int | None:
        return self.contact.id if self.contact is not None else None

    @property
    def supplier_id(self) -> int | None:
        return self.supplier.id if self.supplier is not None else None



def route(session: Session, incoming: Incoming, mail_domains: Iterable[str]) -> Routing:
    """Resolve contact, restaurant and supplier, then the status the message is stored with."""
    routing = Routing()
    routing.supplier = _supplier_by_recipient(session, incoming, mail_domains)
    routing.contact = _contact(session, incoming, routing.supplier)
    if routing.contact is not None:
        routing.restaurant_id = routing.contact.restaurant_id
    elif incoming.restaurant_id is not None:
        routing.restaurant_id = incoming.restaurant_id
    if routing.supplier is None and routing.restaurant_id is not None:
        routing.supplier = _supplier_for_restaurant(session, routing.restaurant_id, incoming.body)
    routing.status, routing.error, routing.keyword = _status(session, incoming, routing)
    return routing


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
    if routing.contact is None:
        return UNKNOWN_SENDER, None, None
    if meta.get("media"):
        return NEEDS_ATTENTION, "message has media attachments (MMS) a person must look at", None
    if meta.get("hold_reason"):
        return NEEDS_ATTENTION, str(meta["hold_reason"]), None
    if routing.supplier is None:
        return NEEDS_ATTENTION, "no supplier could be determined for this message", None
    if incoming.channel in PHONE_CHANNELS and routing.contact.sms_opted_out:
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
    if routing.contact is not None:
        return routing.contact.sms_opted_out
    number = phones.to_e164(incoming.sender)
    return number is not None and optout.is_opted_out(session, number)
