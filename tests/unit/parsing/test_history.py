"""History: the usual, same as last friday, edits on top, and the variant this kitchen buys."""

from __future__ import annotations

import pytest
from tests.unit.parsing.catalogs import LEGUMES_PT, PRIMEUR_FR, PRODUCE_US, context, index, past

from chat2order.parsing import parse


@pytest.fixture(scope="module")
def us():  # type: ignore[no-untyped-def]
    return index(PRODUCE_US, "en-US")


HISTORY = (
    past("2026-03-02T22:00:00-05:00", ("LIM-175", 3, "case"), ("ON-WHT-50", 2, "bag"), ("PARS-FL", 6, "bunch")),
    past("2026-03-05T22:00:00-05:00", ("LIM-175", 3, "case"), ("ON-WHT-50", 2, "bag"), ("T-BEEF-CS", 1, "case")),
    past("2026-03-06T21:00:00-05:00", ("LIM-175", 3, "case"), ("ON-WHT-50", 2, "bag"), ("AVO-40", 2, "case")),
)


def skus(parsed) -> dict[str, float]:  # type: ignore[no-untyped-def]
    return {l.sku: float(l.quantity) for l in parsed.lines if l.sku}


def test_the_usual_is_every_sku_in_all_past_orders(us) -> None:  # type: ignore[no-untyped-def]
    assert skus(parse("the usual pls", context(us, history=HISTORY))) == {"LIM-175": 3, "ON-WHT-50": 2}


@pytest.mark.parametrize(
    ("text", "locale"),
    [("o costume", "pt-PT"), ("le standard", "fr-FR"), ("il solito", "it-IT"), ("lo de siempre", "es-ES")],
)
def test_the_usual_in_four_more_languages(us, text: str, locale: str) -> None:  # type: ignore[no-untyped-def]
    assert skus(parse(text, context(us, locale, history=HISTORY))) == {"LIM-175": 3, "ON-WHT-50": 2}


def test_usual_plus_an_added_item(us) -> None:  # type: ignore[no-untyped-def]
    got = skus(parse("usual + 1 cs lemons", context(us, history=HISTORY)))
    assert got == {"LIM-175": 3, "ON-WHT-50": 2, "LEM-140": 1}


def test_usual_without_an_item(us) -> None:  # type: ignore[no-untyped-def]
    assert skus(parse("usual but no onions", context(us, history=HISTORY))) == {"LIM-175": 3}


def test_usual_with_double_an_item(us) -> None:  # type: ignore[no-untyped-def]
    got = skus(parse("usual, but double the onions", context(us, history=HISTORY)))
    assert got == {"LIM-175": 3, "ON-WHT-50": 4}


def test_usual_with_a_new_quantity_instead_of_the_old(us) -> None:  # type: ignore[no-untyped-def]
    got = skus(parse("usual but 4 cs limes instead of 3", context(us, history=HISTORY)))
    assert got == {"LIM-175": 4, "ON-WHT-50": 2}


def test_same_as_last_friday_is_the_order_placed_that_local_date(us) -> None:  # type: ignore[no-untyped-def]
    got = skus(parse("same as last friday", context(us, history=HISTORY)))
    assert got == {"LIM-175": 3, "ON-WHT-50": 2, "AVO-40": 2}


def test_same_as_last_thursday_in_french() -> None:
    fr = index(PRIMEUR_FR, "fr-FR")
    history = (past("2026-03-05T22:00:00+01:00", ("F-1", 2, "kg"), ("F-4", 3, "bunch")),)
    parsed = parse("la même chose que jeudi dernier", context(fr, "fr-FR", history, "2026-03-10T21:00:00+01:00"))
    assert skus(parsed) == {"F-1": 2, "F-4": 3}


def test_plain_word_takes_the_variant_this_kitchen_buys(us) -> None:  # type: ignore[no-untyped-def]
    line = parse("2 cs limes", context(us, history=HISTORY)).lines[0]
    assert (line.sku, line.needs_review) == ("LIM-175", False)


def test_plain_word_with_two_bought_variants_is_flagged() -> None:
    pt = index(LEGUMES_PT, "pt-PT")
    history = (past("2026-03-02T22:00:00+00:00", ("P-101", 3, "kg"), ("P-102", 1, "bag")),)
    line = parse("cenoura 2", context(pt, "pt-PT", history, "2026-03-10T21:00:00+00:00")).lines[0]
    assert line.needs_review and set(line.candidates) == {"P-101", "P-102"}


def test_usual_without_history_gives_no_lines(us) -> None:  # type: ignore[no-untyped-def]
    assert parse("the usual", context(us)).lines == ()


def test_usual_times_a_factor_for_everything(us) -> None:  # type: ignore[no-untyped-def]
    assert skus(parse("usual x2 for everything", context(us, history=HISTORY))) == {"LIM-175": 6, "ON-WHT-50": 4}


def test_usual_in_another_size(us) -> None:  # type: ignore[no-untyped-def]
    assert skus(parse("the usual with 110s", context(us, history=HISTORY))) == {"LIM-110": 3, "ON-WHT-50": 2}


def test_usual_announced_for_later_is_not_repeated_now(us) -> None:  # type: ignore[no-untyped-def]
    parsed = parse("Sam will send the usual order tonight, but could you add 2 cs lemons?", context(us, history=HISTORY))
    assert skus(parsed) == {"LEM-140": 2}


def test_repeated_order_decides_an_ambiguous_added_line(us) -> None:  # type: ignore[no-untyped-def]
    history = HISTORY + (past("2026-03-06T22:00:00-05:00", ("LIM-175", 3, "case"), ("ON-WHT-50", 2, "bag"), ("ON-RED-25", 1, "bag")),)
    got = skus(parse("same as last friday but 3 bags onions and no red onions", context(us, history=history)))
    assert got == {"LIM-175": 3, "ON-WHT-50": 3}
