"""The whole reading of a message: corrections, withdrawn items, intent, limits, any text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.unit.parsing.catalogs import FRUTAS_ES, ORTO_IT, PRODUCE_US, context, index

from chat2order.errors import ParseError
from chat2order.parsing import parse
from chat2order.parsing.parser import MAX_CHARS

US = index(PRODUCE_US, "en-US")


def test_a_full_sms_order() -> None:
    parsed = parse("hey joe 2cs plum tomatoes, 1 cs avocados, 6 bunches parsley pls", context(US))
    assert parsed.intent == "order"
    assert [(l.sku, float(l.quantity), l.unit) for l in parsed.lines] == [
        ("T-PLUM-CS", 2.0, "case"),
        ("AVO-40", 1.0, "case"),
        ("PARS-FL", 6.0, "bunch"),
    ]


def test_self_correction_across_pieces_keeps_the_final_item() -> None:
    parsed = parse("add 1 cs white onions to friday? no wait sorry, red onions, the 10# bag", context(US))
    assert [(l.sku, float(l.quantity), l.unit) for l in parsed.lines] == [("ON-RED-10", 1.0, "bag")]


def test_italian_correction_anzi() -> None:
    it = index(ORTO_IT, "it-IT")
    parsed = parse("aggiungi 3 kg di patate rosse... anzi un sacco intero", context(it, "it-IT"))
    assert [(l.sku, float(l.quantity), l.unit) for l in parsed.lines] == [("I-4", 1.0, "bag")]


def test_withdrawn_item_is_not_a_line() -> None:
    es = index(FRUTAS_ES, "es-ES")
    text = "2 kg de pimiento rojo, 10 kg de calabacín (no, eso es del otro proveedor)"
    parsed = parse(text, context(es, "es-ES"))
    assert [l.sku for l in parsed.lines] == ["E-2"]


def test_fallback_item_replaces_the_first_choice() -> None:
    es = index(FRUTAS_ES, "es-ES")
    parsed = parse("1 caja de naranjas? si no 2 kg de pimiento verde", context(es, "es-ES"))
    assert [l.sku for l in parsed.lines] == ["E-3"]


def test_a_question_then_its_quantity() -> None:
    parsed = parse("do you have english cucumbers? if so 2 cs for friday", context(US))
    assert [(l.sku, float(l.quantity)) for l in parsed.lines] == [("CUC-ENG", 2.0)]


def test_thanks_is_not_an_order() -> None:
    parsed = parse("thanks joe, all good today", context(US))
    assert (parsed.intent, parsed.lines) == ("other", ())


def test_every_line_has_a_confidence_between_0_and_1() -> None:
    parsed = parse("2 cs limes, 1 cs bacon, 3 lb plum tomatoes", context(US))
    assert parsed.lines and all(0.0 <= l.confidence <= 1.0 for l in parsed.lines)


def test_flagged_lines_have_lower_confidence_than_clear_ones() -> None:
    parsed = parse("1 cs limes, 1 cs avocados", context(US))
    limes, avocados = parsed.lines
    assert limes.needs_review and not avocados.needs_review and limes.confidence < avocados.confidence


def test_input_above_the_limit_raises_parse_error() -> None:
    with pytest.raises(ParseError):
        parse("2 cs limes\n" * (MAX_CHARS // 5), context(US))


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_any_text_parses_without_an_exception(text: str) -> None:
    parsed = parse(text, context(US))
    assert parsed.intent in ("order", "other")
    assert all(l.quantity is None or l.quantity >= 0 for l in parsed.lines)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["2", "cs", "kg", "x", "½", "-", "?", "de", "1/2", "limes", "(", ",", "and", "no"]), max_size=20))
def test_order_like_token_soup_parses_without_an_exception(tokens: list[str]) -> None:
    parse(" ".join(tokens), context(US, "es-ES"))


def test_quantity_in_a_later_sentence_takes_the_product_of_the_earlier_one() -> None:
    parsed = parse("running low on parsley, can u add 6 bunches", context(US))
    assert [(l.sku, float(l.quantity)) for l in parsed.lines] == [("PARS-FL", 6.0)]


def test_parenthesised_note_is_not_an_item() -> None:
    parsed = parse("1 cs avocados (ripe pls!!), 2 cs english cucumbers", context(US))
    assert [l.sku for l in parsed.lines] == ["AVO-40", "CUC-ENG"]
