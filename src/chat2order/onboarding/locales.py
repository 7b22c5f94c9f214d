"""Sensible defaults per locale: the currency and timezone a supplier or restaurant most likely uses.

The eight benchmark locales are explicit (the dataset loader relies on them); other locales fall back to
the territory's currency and first timezone in the CLDR data shipped with babel.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chat2order.errors import InvalidInput

LOCALE_TIMEZONES: dict[str, str] = {
    "en-US": "America/New_York",
    "en-GB": "Europe/London",
    "pt-PT": "Europe/Lisbon",
    "fr-FR": "Europe/Paris",
    "it-IT": "Europe/Rome",
    "es-ES": "Europe/Madrid",
    "pt-BR": "America/Sao_Paulo",
    "es-MX": "America/Mexico_City",
}
# Countries with several timezones whose business capital is the obvious default.
TERRITORY_TIMEZONES: dict[str, str] = {
    "US": "America/New_York", "CA": "America/Toronto", "AU": "Australia/Sydney", "BR": "America/Sao_Paulo",
    "MX": "America/Mexico_City", "ES": "Europe/Madrid", "PT": "Europe/Lisbon", "DE": "Europe/Berlin",
    "FR": "Europe/Paris", "GB": "Europe/London", "IT": "Europe/Rome", "AR": "America/Argentina/Buenos_Aires",
    "CL": "America/Santiago", "NZ": "Pacific/Auckland",
}
LOCALE_CURRENCIES: dict[str, str] = {
    "en-US": "USD", "en-GB": "GBP", "pt-PT": "EUR", "fr-FR": "EUR", "it-IT": "EUR", "es-ES": "EUR",
    "pt-BR": "BRL", "es-MX": "MXN",
}


def normalise_locale(value: str) -> str:
    """`pt_pt`, `PT-pt` -> `pt-PT`; a language and a territory are required (the territory picks defaults)."""
    from babel import Locale, UnknownLocaleError

    text = value.strip().replace("_", "-")
    try:
        locale = Locale.parse(text, sep="-")
    except (ValueError, UnknownLocaleError):
        raise InvalidInput(f"unknown locale {value!r} (expected e.g. en-US, pt-PT, fr-FR)") from None
    if not locale.territory:
        raise InvalidInput(f"locale {value!r} needs a country (e.g. en-US, pt-PT)")
    return f"{locale.language}-{locale.territory}"


def territory(locale: str) -> str:
    return normalise_locale(locale).split("-", 1)[1]


def default_timezone(locale: str) -> str:
    locale = normalise_locale(locale)
    if locale in LOCALE_TIMEZONES:
        return LOCALE_TIMEZONES[locale]
    if territory(locale) in TERRITORY_TIMEZONES:
        return TERRITORY_TIMEZONES[territory(locale)]
    from babel.core import get_global

    zones = get_global("territory_zones").get(territory(locale), [])
    if len(zones) == 1:
        return str(zones[0])
    raise InvalidInput(f"cannot guess the timezone for {locale}: pass --timezone (e.g. Europe/Lisbon)")


def default_currency(locale: str) -> str:
    locale = normalise_locale(locale)
    if locale in LOCALE_CURRENCIES:
        return LOCALE_CURRENCIES[locale]
    from babel.numbers import get_territory_currencies

    currencies = get_territory_currencies(territory(locale))
    return currencies[0] if currencies else "USD"


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"unknown timezone {name!r} (expected an IANA name such as Europe/Lisbon)") from None
    return name.strip()


def check_currency(code: str) -> str:
    from babel.numbers import list_currencies

    upper = code.strip().upper()
    if upper not in list_currencies():
        raise InvalidInput(f"unknown currency {code!r} (expected an ISO 4217 code such as EUR)")
    return upper
