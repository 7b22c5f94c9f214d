"""Validating and normalising the ways to reach someone: phone numbers (E.164), email addresses, cut-off
times and delivery weekdays as people type them on the command line or in a fixture."""

from __future__ import annotations

import datetime as dt
import re

import phonenumbers

from chat2order.errors import InvalidInput

# The North American 555 exchange is reserved for fiction; libphonenumber calls it "not valid", but the
# demo data and tests use it on purpose (+15555550100), so it is accepted when otherwise well formed.
_FICTIONAL_PREFIX = "+1555"
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")
WEEKDAYS = {"mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6, "sun": 7}


def normalise_phone(value: str, region: str | None = None, *, what: str = "phone") -> str:
    """E.164 (`+351912345678`); a national number is read in `region` (the locale's country)."""
    text = value.strip()
    try:
        number = phonenumbers.parse(text, None if text.startswith("+") else region)
    except phonenumbers.NumberParseException:
        raise InvalidInput(f"{what} {value!r} is not a phone number (use +<country code><number>)") from None
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    fictional = e164.startswith(_FICTIONAL_PREFIX) and phonenumbers.is_possible_number(number)
    if not (phonenumbers.is_valid_number(number) or fictional):
        raise InvalidInput(f"{what} {value!r} is not a valid phone number")
    return e164


def normalise_email(value: str, *, what: str = "email") -> str:
    text = value.strip()
    if not _EMAIL.match(text) or len(text) > 320 or ".." in text:
        raise InvalidInput(f"{what} {value!r} is not an email address")
    local, domain = text.rsplit("@", 1)
    return f"{local}@{domain.lower()}"


def parse_cutoff(value: str) -> dt.time:
    """`22:00`, `9:30`, `2200` -> a time of day."""
    text = value.strip()
    match = re.fullmatch(r"(\d{1,2}):?(\d{2})", text)
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise InvalidInput(f"cut-off {value!r} is not a time of day (use HH:MM, e.g. 22:00)")
    return dt.time(int(match[1]), int(match[2]))


def parse_weekdays(value: str) -> list[int]:
    """`mon,tue,fri`, `mon-sat`, `1,2,3` or `monday,...` -> sorted ISO weekdays (1 = Monday)."""
    days: set[int] = set()

    def day(token: str) -> int:
        token = token.strip().lower()
        if token.isdigit() and 1 <= int(token) <= 7:
            return int(token)
        if token[:3] in WEEKDAYS and "monday tuesday wednesday thursday friday saturday sunday".find(token) >= 0:
            return WEEKDAYS[token[:3]]
        raise InvalidInput(f"delivery day {token!r} is not a weekday (use mon,tue,wed,thu,fri,sat,sun)")

    for part in value.split(","):
        if not part.strip():
            continue
        if "-" in part:
            first, last = (day(token) for token in part.split("-", 1))
            span = range(first, last + 1) if first <= last else [*range(first, 8), *range(1, last + 1)]
            days.update(span)
        else:
            days.add(day(part))
    if not days:
        raise InvalidInput("delivery days are empty (use e.g. mon-sat)")
    return sorted(days)


def format_weekdays(days: list[int]) -> str:
    names = {number: name for name, number in WEEKDAYS.items()}
    return ",".join(names[day] for day in sorted(days))
