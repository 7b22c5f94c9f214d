"""The gettext catalogs: every message the code says exists in every language, renders, and is compiled."""

from __future__ import annotations

import datetime as dt
import importlib.util
import re
import string
from decimal import Decimal
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from chat2order import i18n

ROOT = Path(__file__).resolve().parents[2]
LOCALE_DIR = ROOT / "src" / "chat2order" / "locale"
TRANSLATED = ("pt", "fr", "it", "es")


def _script():
    spec = importlib.util.spec_from_file_location("c2o_i18n_script", ROOT / "scripts" / "i18n.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def template():
    return _script().extract()


def _messages(template):
    return [m for m in template if m.id]


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_code_uses_no_message_missing_from_the_template(template) -> None:
    with open(LOCALE_DIR / "messages.pot", "rb") as fh:
        committed = {(m.context, m.id if isinstance(m.id, str) else m.id[0]) for m in read_po(fh) if m.id}
    used = {(m.context, m.id if isinstance(m.id, str) else m.id[0]) for m in _messages(template)}
    assert used - committed == set(), "run .venv/bin/python scripts/i18n.py"


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_message_is_translated_in_compiled_catalog(template, lang: str) -> None:
    with open(LOCALE_DIR / lang / "LC_MESSAGES" / "messages.mo", "rb") as fh:
        compiled = read_mo(fh)
    missing = []
    for message in _messages(template):
        found = compiled.get(message.id, context=message.context)
        strings = found.string if found is not None else None
        if not strings or (isinstance(strings, tuple) and not all(strings)):
            missing.append(message.id)
    assert missing == []


@pytest.mark.parametrize("lang", TRANSLATED)
def test_translations_keep_the_placeholders_of_their_message(template, lang: str) -> None:
    with open(LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po", "rb") as fh:
        catalog = read_po(fh, locale=lang)
    wrong = []
    for message in _messages(template):
        if isinstance(message.id, tuple):
            continue
        found = catalog.get(message.id, context=message.context)
        if found is not None and _fields(found.string) != _fields(message.id):
            wrong.append(message.id)
    assert wrong == []


@pytest.mark.parametrize("locale", ["en-US", "pt-PT", "fr-FR", "it-IT", "es-ES"])
def test_every_message_renders_in_every_language(template, locale: str) -> None:
    for message in _messages(template):
        if isinstance(message.id, tuple):
            text = i18n.npt(locale, message.context or "", message.id[0], message.id[1], 2)
        else:
            values = {name: f"<{name}>" for name in _fields(message.id)}
            text = i18n.t(locale, message.id, **values)
            assert all(f"<{name}>" in text for name in values), (locale, message.id)
        assert text.strip()


def test_a_translated_message_differs_from_english() -> None:
    assert i18n.t("pt-PT", "Reply YES to confirm, or send changes.") == "Responda SIM para confirmar, ou envie alterações."
    assert i18n.t("fr-FR", "Quantity") == "Quantité"


def test_unknown_language_falls_back_to_english() -> None:
    assert i18n.t("de-DE", "Quantity") == "Quantity"
    assert i18n.language_of("zz") == "en"
    assert i18n.language_of(None) == "en"


@pytest.mark.parametrize(
    ("amount", "currency", "locale", "expected"),
    [
        (Decimal("32.5"), "USD", "en-US", "$32.50"),
        (Decimal("32.5"), "EUR", "pt-PT", "32,50 €"),
        (Decimal("32.5"), "EUR", "fr-FR", "32,50 €"),
        (Decimal("1234.5"), "EUR", "it-IT", "1.234,50 €"),
        (Decimal("32.5"), "GBP", "en-GB", "£32.50"),
    ],
)
def test_money_is_formatted_for_the_locale(amount, currency, locale, expected) -> None:
    assert i18n.money(amount, currency, locale) == expected


def test_money_has_no_no_break_space_that_would_force_unicode_sms() -> None:
    assert not re.search("[\u00a0\u202f]", i18n.money(Decimal("1234.5"), "EUR", "fr-FR"))


def test_quantities_use_the_locale_decimal_mark_without_trailing_zeros() -> None:
    assert i18n.number(Decimal("0.500"), "fr-FR") == "0,5"
    assert i18n.number(Decimal("2.000"), "en-US") == "2"
    assert i18n.number(Decimal("1.25"), "en-US") == "1.25"


def test_delivery_day_is_formatted_for_the_locale() -> None:
    day = dt.date(2026, 11, 27)
    assert i18n.day(day, "en-US") == "Fri, Nov 27"
    assert "27" in i18n.day(day, "pt-PT") and "sex" in i18n.day(day, "pt-PT")
    assert i18n.day(day, "fr-FR") == "ven. 27 nov."


def test_plural_unit_forms_follow_the_language() -> None:
    assert i18n.npt("it-IT", "unit", "case", "cases", 1) == "cassa"
    assert i18n.npt("it-IT", "unit", "case", "cases", 3) == "casse"
    assert i18n.npt("en-US", "unit", "loaf", "loaves", 2) == "loaves"
