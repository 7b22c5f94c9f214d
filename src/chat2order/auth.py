"""API tokens for the chat API: made with `secrets`, stored only as SHA-256 hashes, resolved to a principal.

A token belongs either to a restaurant contact (a chef who orders and confirms) or to a supplier's
staff (who read their supplier's orders). The plain token is shown once, when it is created; the
database holds only its hash, so a leaked table does not leak working tokens. Helpers here never commit:
the caller (a CLI command, a test) owns the transaction.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from chat2order.errors import InvalidInput, NotFound
from chat2order.tables import ApiToken, Contact, Supplier

TOKEN_PREFIX = "c2o_"
# Longest token we bother hashing: anything longer is garbage and must not cost us CPU.
MAX_TOKEN_LENGTH = 200


@dataclass(frozen=True)
class Principal:
    """Who is calling: a restaurant contact or a supplier's staff, with the tenant they may see."""

    kind: Literal["contact", "supplier"]
    token_id: int
    contact_id: int | None = None
    restaurant_id: int | None = None
    supplier_id: int | None = None

    @property
    def is_contact(self) -> bool:
        return self.kind == "contact"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    """A fresh bearer token: a recognisable prefix and 256 random bits."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def create_token(
    session: Session, *, contact_id: int | None = None, supplier_id: int | None = None, label: str = ""
) -> tuple[str, ApiToken]:
    """Store the hash of a new token for exactly one owner; return the plain token (shown once) and the row."""
    if (contact_id is None) == (supplier_id is None):
        raise InvalidInput("a token belongs to exactly one contact or one supplier")
    token = new_token()
    row = ApiToken(
        token_hash=hash_token(token), label=label[:100], contact_id=contact_id, supplier_id=supplier_id
    )
    session.add(row)
    session.flush()
    return token, row


def _e164(text: str) -> str | None:
    import phonenumbers

    try:
        # Numbers written without a country code are read as North American, the dev data's default.
        number = phonenumbers.parse(text, None if text.strip().startswith("+") else "US")
    except phonenumbers.NumberParseException:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def find_contact(session: Session, who: str) -> Contact:
    """A contact by email (case-insensitive) or by phone number (any common notation, matched as E.164)."""
    if "@" in who:
        rows = session.scalars(select(Contact).where(Contact.email.ilike(who.strip()))).all()
        if len(rows) > 1:
            raise InvalidInput(f"{len(rows)} contacts share the email {who}; use their phone number")
        contact = rows[0] if rows else None
    else:
        phone = _e164(who)
        contact = session.scalar(select(Contact).where(Contact.phone == phone)) if phone else None
    if contact is None:
        raise NotFound(f"no contact with {who}")
    return contact


def find_supplier(session: Session, slug: str) -> Supplier:
    supplier = session.scalar(select(Supplier).where(Supplier.slug == slug))
    if supplier is None:
        raise NotFound(f"no supplier with slug {slug}")
    return supplier


def revoke(session: Session, token: str) -> bool:
    """Mark a token revoked; True when it existed."""
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    if row is None:
        return False
    row.revoked = True
    session.flush()
    return True


def resolve(session: Session, token: str | None) -> Principal | None:
    """The principal of a bearer token, or None for a missing, unknown or revoked token."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    row = session.scalar(
        select(ApiToken).where(ApiToken.token_hash == hash_token(token), ApiToken.revoked.is_(False))
    )
    if row is None:
        return None
    if row.contact_id is not None:
        contact = session.get(Contact, row.contact_id)
        if contact is None:
            return None
        return Principal("contact", row.id, contact_id=contact.id, restaurant_id=contact.restaurant_id)
    if row.supplier_id is not None:
        return Principal("supplier", row.id, supplier_id=row.supplier_id)
    return None


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header value."""
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()
