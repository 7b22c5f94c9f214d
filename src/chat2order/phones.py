"""Phone numbers as Twilio and people write them, normalised to E.164 with the `phonenumbers` library.

Pure helpers (no Flask, no database), kept outside `channels/` because services use them too (nothing may
import a channel): the intake service uses them to find a contact or a supplier, the Twilio blueprint to
read `From` / `To`. WhatsApp senders arrive as `whatsapp:+14155550100`.
"""

from __future__ import annotations

import phonenumbers

# Prefixes Twilio and address books put before the number itself.
_SCHEMES = ("whatsapp:", "tel:", "sms:", "mms:", "callto:")


def strip_scheme(value: str) -> str:
    """'whatsapp:+14155550100' -> '+14155550100' (case-insensitive, surrounding spaces removed)."""
    text = (value or "").strip()
    lowered = text.lower()
    for scheme in _SCHEMES:
        if lowered.startswith(scheme):
            return text[len(scheme):].strip()
    return text


def is_whatsapp(value: str) -> bool:
    return (value or "").strip().lower().startswith("whatsapp:")


def to_e164(value: str | None, region: str | None = "US") -> str | None:
    """The E.164 form of a phone number, or None when it cannot be a phone number.

    `region` (ISO 3166 alpha-2) is used only for numbers written without a country code.
    """
    text = strip_scheme(value or "")
    if not text or "@" in text:
        return None
    try:
        number = phonenumbers.parse(text, None if text.startswith("+") else (region or "US"))
    except phonenumbers.NumberParseException:
        return None
    # "Possible" (right length for the country) rather than "valid": numbering plans change faster than the
    # library's metadata, and a number Twilio delivered to us is real whatever the metadata says.
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def region_of(locale: str | None) -> str:
    """'pt-PT' -> 'PT'; a bare language or nothing -> 'US'."""
    parts = (locale or "").replace("_", "-").split("-")
    return parts[1].upper() if len(parts) > 1 and len(parts[1]) == 2 else "US"
