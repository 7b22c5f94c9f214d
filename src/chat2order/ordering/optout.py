"""SMS keywords carriers require us to honour: STOP (opt out), START (opt back in), HELP.

Twilio matches a keyword only when it is the whole message (case-insensitive, surrounding blanks and
punctuation ignored), and with Advanced Opt-Out it answers the standard English keywords itself and blocks
further messages to a number that sent STOP. So we:
- record every opt-out (standard or one of the pt/fr/it/es equivalents) on the contact (`sms_opted_out`),
  or on the stored message when the number belongs to nobody yet, and never answer an opt-out ourselves
  (Twilio confirms the standard ones; the others are confirmed by Twilio when configured as custom
  keywords of the Messaging Service, see docs/channels-twilio.md);
- answer HELP and START ourselves only where Twilio does not (WhatsApp, or a non-English keyword on SMS);
- treat START-like words ("YES", "SIM", "OUI") as opt-in only from someone who opted out: from anyone
  else "yes" is the answer to an order confirmation and goes on to processing.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from chat2order.tables import Contact, InboundMessage

Kind = Literal["stop", "start", "help"]

# Twilio's default Advanced Opt-Out keywords (answered and enforced by Twilio on SMS).
STANDARD: dict[str, Kind] = {
    **dict.fromkeys(("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"), "stop"),
    **dict.fromkeys(("START", "YES", "UNSTOP"), "start"),
    **dict.fromkeys(("HELP", "INFO"), "help"),
}

# Common equivalents in the languages we serve, written without accents (matching folds accents away).
# Words that also mean "cancel the order" (CANCELAR, ANNULLA, ANNULER) are left out on purpose: Twilio does
# not block on them, and a chef cancelling an order must not silently lose every future confirmation.
LOCAL: dict[str, Kind] = {
    # pt
    **dict.fromkeys(("PARAR", "PARE", "SAIR"), "stop"),
    **dict.fromkeys(("INICIAR", "COMECAR", "SIM", "VOLTAR"), "start"),
    **dict.fromkeys(("AJUDA",), "help"),
    # fr
    **dict.fromkeys(("ARRET", "ARRETER", "DESABONNER", "DESINSCRIRE"), "stop"),
    **dict.fromkeys(("DEMARRER", "OUI", "REPRENDRE"), "start"),
    **dict.fromkeys(("AIDE",), "help"),
    # it
    **dict.fromkeys(("BASTA", "FERMA", "DISISCRIVI"), "stop"),
    **dict.fromkeys(("INIZIA", "AVVIA", "SI"), "start"),
    **dict.fromkeys(("AIUTO",), "help"),
    # es
    **dict.fromkeys(("BAJA", "DETENER", "ALTO"), "stop"),
    **dict.fromkeys(("ALTA", "COMENZAR", "EMPEZAR"), "start"),
    **dict.fromkeys(("AYUDA",), "help"),
}

STATUS_FOR: dict[Kind, str] = {"stop": "opted_out", "start": "opted_in", "help": "help_requested"}

_EDGES = re.compile(r"^[\W_]+|[\W_]+$")


@dataclass(frozen=True)
class Keyword:
    kind: Kind
    word: str
    standard: bool  # one of Twilio's own keywords

    def answered_by_twilio(self, channel: str) -> bool:
        """Twilio's Advanced Opt-Out answers its standard keywords on SMS, never on WhatsApp."""
        return self.standard and channel == "sms"


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).upper()


def match(body: str) -> Keyword | None:
    """The keyword a whole message is, or None (a keyword inside a longer text is not one)."""
    word = _fold(_EDGES.sub("", (body or "").strip()))
    if not word or len(word) > 20 or " " in word:
        return None
    if word in STANDARD:
        return Keyword(STANDARD[word], word, True)
    if word in LOCAL:
        return Keyword(LOCAL[word], word, False)
    return None


def is_opted_out(session: Session, phone: str) -> bool:
    """Whether an E.164 number must not be messaged: its contact opted out, or, for a number that belongs
    to no contact, its latest keyword message was an opt-out."""
    contact_flag = session.scalar(select(Contact.sms_opted_out).where(Contact.phone == phone))
    if contact_flag is not None:
        return bool(contact_flag)
    last = session.scalar(
        select(InboundMessage.status)
        .where(
            or_(InboundMessage.sender == phone, InboundMessage.sender == f"whatsapp:{phone}"),
            InboundMessage.status.in_(("opted_out", "opted_in")),
        )
        .order_by(InboundMessage.received_at.desc(), InboundMessage.id.desc())
        .limit(1)
    )
    return last == "opted_out"


def record(contact: Contact | None, keyword: Keyword) -> None:
    """Apply an opt-out or opt-in to the contact (the caller's transaction commits it)."""
    if contact is None:
        return
    if keyword.kind == "stop":
        contact.sms_opted_out = True
    elif keyword.kind == "start":
        contact.sms_opted_out = False


HELP_TEXT = (
    "{supplier}: send your order as you would write it to us and we reply with a confirmation to check. "
    "Reply STOP to stop messages."
)
START_TEXT = "{supplier}: you will receive order confirmations again. Reply STOP to stop."


def answer_text(keyword: Keyword, supplier_name: str, locale: str | None) -> str | None:
    """What we answer to a keyword ourselves (None: nothing; opt-outs are never answered by us)."""
    from chat2order.i18n import t

    if keyword.kind == "help":
        return t(locale, HELP_TEXT, supplier=supplier_name)
    if keyword.kind == "start":
        return t(locale, START_TEXT, supplier=supplier_name)
    return None
