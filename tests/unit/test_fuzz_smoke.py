"""Smoke version of `scripts/fuzz_parse.py` (issue 6 "Inputs nobody should trust"): any text into the parser.

Hypothesis feeds arbitrary Unicode, order-shaped text built from a small made-up catalog's words mixed with
numbers, units, punctuation and control characters, and texts around the parser's size limit. The only
exception allowed out is the project's own (`Chat2OrderError`, e.g. `ParseError` for an over-long text),
and what comes back must be a sane `ParsedOrder`. Time per input is reported by the script, never asserted.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chat2order.errors import Chat2OrderError
from chat2order.parsing import ParseContext, ParsedOrder, parse
from chat2order.parsing.cleanup import clean
from chat2order.parsing.index import CatalogIndex
from chat2order.parsing.model import CatalogEntry, PastLine, PastOrder

CATALOG = [
    CatalogEntry("TP-CS", "TOMATO PLUM 25#", "25 lb case", "case", Decimal("31.50")),
    CatalogEntry("TP-LB", "TOMATO PLUM", "per lb", "lb", Decimal("1.40")),
    CatalogEntry("ONR-25", "ONION RED 25#", "25 lb sack", "bag"),
    CatalogEntry("LIM-110", "LIME 110CT", "110 ct case", "case"),
    CatalogEntry("PRS-BN", "PARSLEY FLAT LEAF", "bunch", "bunch"),
    CatalogEntry("CEN-KG", "Cenoura", "kg", "kg"),
    CatalogEntry("OEUF-30", "Oeufs plein air x30", "plateau 30", "each"),
    CatalogEntry("MOZ-1", "Mozzarella fior di latte 1kg", "1 kg", "kg"),
]
WORDS = ["tomato", "plum", "roma", "onion", "red", "lime", "limes", "parsley", "cenoura", "oeufs", "mozzarella",
         "cs", "case", "cases", "lb", "#", "kg", "bunch", "x", "dz", "½", "1/2", "2.5", "3,5", "douze", "two",
         "dois", "due", "pls", "thx", "no", "not", "instead", "same as last week", "tomorrow", "demain",
         "amanhã", "mañana", "domani", "friday", "> ", "--", "On Mon, Chef wrote:", "Sent from my iPhone",
         "\u200b", "\u202e", "\x00", "\r", "\t", "🍅", "ﬁ", "İ", "ß"]

order_like = st.lists(
    st.one_of(st.sampled_from(WORDS), st.integers(-5, 10**6).map(str), st.text(max_size=8)),
    max_size=60,
).flatmap(lambda words: st.lists(st.sampled_from([" ", "\n", ", ", "\n\n", ";"]), min_size=len(words),
                                 max_size=len(words)).map(lambda seps: "".join(w + s for w, s in zip(words, seps))))
any_text = st.one_of(st.text(max_size=400), order_like, st.text(min_size=1, max_size=4).map(lambda s: s * 5001))


@pytest.fixture(scope="module")
def context() -> ParseContext:
    received = dt.datetime(2026, 3, 5, 21, 40, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    history = (PastOrder(received - dt.timedelta(days=7), (PastLine("TP-CS", Decimal(2), None),
                                                          PastLine("PRS-BN", Decimal(4), "bunch"))),)
    return ParseContext(index=CatalogIndex.build(CATALOG, language="en"), history=history, received_at=received)


def _check(order: ParsedOrder) -> None:
    assert order.intent in ("order", "other")
    assert isinstance(order.cleaned_text, str)
    skus = {entry.sku for entry in CATALOG}
    for line in order.lines:
        assert line.sku is None or line.sku in skus
        assert 0.0 <= line.confidence <= 1.0
        assert line.quantity is None or line.quantity.is_finite()
        assert set(line.candidates) <= skus


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(text=any_text, locale=st.sampled_from(["en-US", "pt-PT", "fr-FR", "it-IT", "es-ES", "xx", ""]),
       channel=st.sampled_from(["sms", "whatsapp", "email", "chat", "voicemail"]))
def test_any_text_parses_or_raises_only_the_projects_own_error(
    context: ParseContext, text: str, locale: str, channel: str
) -> None:
    ctx = ParseContext(index=context.index, history=context.history, locale=locale or "en-US",
                       received_at=context.received_at, channel=channel)
    try:
        order = parse(text, ctx)
    except Chat2OrderError:
        return
    _check(order)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=any_text)
def test_clean_up_of_any_text_returns_strings_and_never_raises(text: str) -> None:
    cleaned = clean(text, channel="email")
    assert isinstance(cleaned.text, str) and isinstance(cleaned.quoted, str)
    assert isinstance(cleaned.included_quote, bool)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=order_like)
def test_parsing_without_a_catalog_never_carries_a_sku(text: str) -> None:
    try:
        order = parse(text, ParseContext(index=None))
    except Chat2OrderError:
        return
    assert all(line.sku is None for line in order.lines)
