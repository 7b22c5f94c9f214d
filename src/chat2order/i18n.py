"""What chat2order says to people, in their language: gettext catalogs plus Babel number, money and dates.

Catalogs live in `chat2order/locale/<lang>/LC_MESSAGES/messages.{po,mo}` (domain `messages`), managed
with Babel (`scripts/i18n` extracts, updates and compiles them). Message ids are the English text with
`{name}` placeholders; `t(locale, msgid, **values)` translates then formats, so a translator can move the
placeholders around. Money, quantities and dates are formatted by Babel for the full locale
("32,50 €" in pt-PT, "$32.50" in en-US).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal
from babel.support import NullTranslations, Translations

DOMAIN = "messages"
LANGUAGES = ("en", "pt", "fr", "it", "es")
DEFAULT_LOCALE = "en-US"
LOCALE_DIR = Path(__file__).parent / "locale"

# Babel puts narrow/no-break spaces in money and dates; in an SMS one such character switches the whole
# message from GSM-7 to UCS-2 and halves what fits in a segment, so plain-text renderings use spaces.
_NBSP = str.maketrans({"\u00a0": " ", "\u202f": " ", "\u2009": " "})


def language_of(locale: str | None) -> str:
    """'pt-PT' -> 'pt'; anything we do not speak falls back to English."""
    lang = (locale or DEFAULT_LOCALE).replace("_", "-").split("-")[0].lower()
    return lang if lang in LANGUAGES else "en"


# Formatting runs for every line of every confirmation, over a small set of locales, prices and quantities:
# parsing the locale and Babel's pattern work cost more than a whole database round trip, so results are kept.
_FORMATTED = 8192


@lru_cache(maxsize=256)
def babel_locale(locale: str | None) -> Locale:
    """A Babel locale for formatting; an unknown or malformed tag falls back to en-US."""
    try:
        return Locale.parse((locale or DEFAULT_LOCALE).replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        return Locale.parse(DEFAULT_LOCALE.replace("-", "_"))


@cache
def translations(language: str) -> NullTranslations:
    """The compiled catalog of one language (English is the msgid itself)."""
    language = language_of(language)
    if language == "en":
        return NullTranslations()
    return Translations.load(str(LOCALE_DIR), [language], DOMAIN)


def N_(msgid: str) -> str:
    """Mark text for the catalogs where it is defined; it is translated where it is shown, with `t`."""
    return msgid


def t(locale: str | None, msgid: str, **values: Any) -> str:
    """Translate `msgid` into the language of `locale`, then fill its `{placeholders}`."""
    text = translations(language_of(locale)).gettext(msgid)
    return text.format(**values) if values else text


def nt(locale: str | None, singular: str, plural: str, n: int, **values: Any) -> str:
    """Plural-aware `t`: `n` picks the form with the language's own plural rule."""
    text = translations(language_of(locale)).ngettext(singular, plural, n)
    return text.format(n=n, **values)


def plain(text: str) -> str:
    """Replace the no-break spaces Babel emits with ordinary spaces (see `_NBSP`)."""
    return text.translate(_NBSP)


@lru_cache(maxsize=_FORMATTED)
def money(amount: Decimal | float, currency: str, locale: str | None) -> str:
    """'$32.50' (en-US), '32,50 €' (pt-PT); spaces made plain for SMS-friendly text."""
    return plain(format_currency(Decimal(str(amount)), currency or "USD", locale=babel_locale(locale)))


@lru_cache(maxsize=_FORMATTED)
def number(value: Decimal | float, locale: str | None, max_decimals: int = 3) -> str:
    """A quantity as people write it: '2', '0.5' / '0,5', '1,250.75'; no trailing zeros."""
    value = Decimal(str(value))
    pattern = "#,##0." + "#" * max_decimals if max_decimals else "#,##0"
    return plain(format_decimal(value, format=pattern, locale=babel_locale(locale)))


@lru_cache(maxsize=_FORMATTED)
def day(value: dt.date, locale: str | None) -> str:
    """A delivery day, short and unambiguous in the locale: 'Thu, Nov 27' / 'qui., 27/11'."""
    loc = babel_locale(locale)
    skeleton = "MMMEd"
    try:
        pattern = loc.datetime_skeletons[skeleton]
    except KeyError:
        return plain(format_date(value, format="medium", locale=loc))
    return plain(format_date(value, format=pattern, locale=loc))


def clock(value: dt.time, locale: str | None) -> str:
    """A time of day in the locale's short form: '11:00 PM' / '23:00'."""
    from babel.dates import format_time

    return plain(format_time(value, format="short", locale=babel_locale(locale)))


def npt(locale: str | None, context: str, singular: str, plural: str, n: int) -> str:
    """Plural-aware, context-qualified translation (e.g. context "unit": "case"/"cases")."""
    return translations(language_of(locale)).npgettext(context, singular, plural, n)
