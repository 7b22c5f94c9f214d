"""Choosing the SKU from a supplier's plain price list: words, typos, packs, sizes, languages."""

from __future__ import annotations

import pytest
from tests.unit.parsing.catalogs import FRUTAS_ES, LEGUMES_PT, ORTO_IT, PRIMEUR_FR, PRODUCE_US, context, index

from chat2order.parsing import parse


@pytest.fixture(scope="module")
def us():  # type: ignore[no-untyped-def]
    return index(PRODUCE_US, "en-US")


def one_line(text: str, ctx):  # type: ignore[no-untyped-def]
    parsed = parse(text, ctx)
    assert len(parsed.lines) == 1, parsed.lines
    return parsed.lines[0]


def test_plural_words_meet_singular_catalog_names(us) -> None:  # type: ignore[no-untyped-def]
    assert one_line("2 cs english cucumbers", context(us)).sku == "CUC-ENG"


def test_typo_tolerant(us) -> None:  # type: ignore[no-untyped-def]
    assert one_line("1 cs avocadoes", context(us)).sku == "AVO-40"


def test_weight_unit_prefers_the_per_weight_sku(us) -> None:  # type: ignore[no-untyped-def]
    line = one_line("10 lb plum tomatoes", context(us))
    assert (line.sku, line.unit) == ("T-PLUM-LB", "lb")


def test_case_unit_prefers_the_case_sku(us) -> None:  # type: ignore[no-untyped-def]
    line = one_line("2 cs plum tomatoes", context(us))
    assert (line.sku, line.unit) == ("T-PLUM-CS", "case")


def test_stated_pack_size_picks_that_pack(us) -> None:  # type: ignore[no-untyped-def]
    assert one_line("1 bag red onions 10#", context(us)).sku == "ON-RED-10"


def test_stated_count_size_picks_that_grade(us) -> None:  # type: ignore[no-untyped-def]
    assert one_line("2 cs limes 175ct", context(us)).sku == "LIM-175"


def test_close_variants_without_history_are_flagged_with_candidates(us) -> None:  # type: ignore[no-untyped-def]
    line = one_line("1 cs limes", context(us))
    assert line.needs_review and set(line.candidates) == {"LIM-110", "LIM-175"}


def test_not_carried_is_not_the_nearest_product(us) -> None:  # type: ignore[no-untyped-def]
    line = one_line("2 cases of bacon", context(us))
    assert (line.sku, line.not_carried, line.quantity) == (None, True, 2)


def test_spanish_words_at_an_english_catalog(us) -> None:  # type: ignore[no-untyped-def]
    assert one_line("2 cajas de aguacate", context(us)).sku == "AVO-40"


def test_portuguese_plural_and_accent(us) -> None:  # type: ignore[no-untyped-def]
    pt = index(LEGUMES_PT, "pt-PT")
    line = one_line("3 kg limoes", context(pt, "pt-PT"))
    assert (line.sku, line.unit) == ("P-601", "kg")


def test_portuguese_box_picks_the_box_sku() -> None:
    pt = index(LEGUMES_PT, "pt-PT")
    assert one_line("2 cx de limão", context(pt, "pt-PT")).sku == "P-602"


def test_french_bare_count_of_a_weighed_item_is_each() -> None:
    fr = index(PRIMEUR_FR, "fr-FR")
    line = one_line("4 poireaux", context(fr, "fr-FR"))
    assert (line.sku, line.quantity, line.unit) == ("F-1", 4, "each")


def test_french_sale_pack_word_keeps_the_sale_unit() -> None:
    fr = index(PRIMEUR_FR, "fr-FR")
    line = one_line("20 plaquettes de beurre", context(fr, "fr-FR"))
    assert (line.sku, line.unit) == ("F-5", None)


def test_italian_plural_feminine() -> None:
    it = index(ORTO_IT, "it-IT")
    assert one_line("3 kg di zucchine", context(it, "it-IT")).sku == "I-3"


def test_spanish_color_word_picks_the_variant() -> None:
    es = index(FRUTAS_ES, "es-ES")
    assert one_line("2 kg de pimientos rojos", context(es, "es-ES")).sku == "E-2"


def test_index_is_built_once_and_answers_many_queries(us) -> None:  # type: ignore[no-untyped-def]
    first = us.search(["tomato"])
    assert us.search(["tomato"]) == first and len(us) == len(PRODUCE_US)


def test_without_a_catalog_lines_carry_words_but_no_sku() -> None:
    parsed = parse("2 cups flour and 3 tbsp olive oil", context(None))
    assert [(l.sku, float(l.quantity), l.unit, l.product) for l in parsed.lines] == [
        (None, 2.0, "cup", "flour"),
        (None, 3.0, "tbsp", "olive oil"),
    ]
