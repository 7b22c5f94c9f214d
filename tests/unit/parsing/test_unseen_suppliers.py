"""Generic reading rules found on suppliers the parser was never tuned on (held-out set and generated
orders): lines that used to be dropped, explicit words the history overrode, typos in the product noun.
Made-up catalogs; no benchmark text."""

from __future__ import annotations

import pytest
from tests.unit.parsing.catalogs import context, index, past

from chat2order.parsing import parse

DELI_US = [
    ("OLV-KAL-GR", "OLIVES KALAMATA PITTED GREECE", "2 kg tub", "tub"),
    ("OLV-KAL-TR", "OLIVES KALAMATA PITTED TURKEY", "2 kg tub", "tub"),
    ("OLV-CAST", "OLIVES CASTELVETRANO", "2 kg tub", "tub"),
    ("PRW-XL", "PRAWN XL FROZEN 2#", "10/2 lb case", "case"),
    ("PRW-MD", "PRAWN MEDIUM FROZEN 2#", "10/2 lb case", "case"),
    ("LEM-MEY", "LEMON MEYER", "10 lb case", "case"),
    ("LEM-EUR", "LEMON EUREKA 140CT", "140 ct case", "case"),
    ("MELON-CANT", "MELON CANTALOUPE 9CT", "9 ct case", "case"),
    ("BRD-RYE", "BREAD RYE SEEDED", "each", "loaf"),
    ("BRD-CIAB", "BREAD CIABATTA", "each", "loaf"),
    ("SAL-GEN", "SALAMI GENOA SLICED", "per lb", "lb"),
    ("SAL-FIN", "SALAMI FINOCCHIONA", "per lb", "lb"),
    ("SAL-GEN-HOT", "SALAMI GENOA HOT CHUB", "6 ct case", "case"),
    ("CAB-RED-ORG", "CABBAGE RED ORGANIC", "each", "each"),
    ("CAB-RED-LOC", "CABBAGE RED LOCAL", "per lb", "lb"),
    ("PEP-FANCY", "PEPPER PIQUILLO FANCY ROASTED", "12 oz jar", "jar"),
    ("TOM-SUN", "TOMATO SUNDRIED JULIENNE", "2 lb bag", "bag"),
    ("TUR-BRST", "TURKEY BREAST SMOKED", "per lb", "lb"),
    ("TUR-PAST", "TURKEY PASTRAMI SLICED", "per lb", "lb"),
    ("TOM-CAN", "TOMATO PLUM CANNED", "6/#10 can", "case"),
    ("MOZ-FRESH", "CHEESE MOZZARELLA FRESH OVOLINE", "1 lb tub", "tub"),
    ("MOZ-LOAF", "CHEESE MOZZARELLA LOAF 6#", "6 lb loaf", "loaf"),
    ("TOM-CR", "TOMATO CRUSHED", "6/#10 can", "case"),
    ("TOM-PST", "TOMATO PASTE", "6/#10 can", "case"),
]

PESCADO_ES = [
    ("X-1", "Bacalao lomo desalado", "kg", "kg"),
    ("X-2", "Lengua de bacalao", "bandeja 500 g", "flat"),
    ("X-3", "Pulpo cocido", "kg", "kg"),
]


@pytest.fixture(scope="module")
def deli():  # type: ignore[no-untyped-def]
    return index(DELI_US, "en-US")


def lines_of(text: str, ctx):  # type: ignore[no-untyped-def]
    return parse(text, ctx).lines


def test_half_glued_to_its_unit_is_read(deli) -> None:  # type: ignore[no-untyped-def]
    got = lines_of("- 2 cs castelvetrano olives\n- ½cases meyer lemon", context(deli))
    assert [(ln.sku, float(ln.quantity), ln.unit) for ln in got] == [
        ("OLV-CAST", 2.0, "case"), ("LEM-MEY", 0.5, "case")]


def test_leading_plus_on_a_quantity_is_read(deli) -> None:  # type: ignore[no-untyped-def]
    got = lines_of("+1 cs meyer lemons", context(deli))
    assert [(ln.sku, float(ln.quantity), ln.unit) for ln in got] == [("LEM-MEY", 1.0, "case")]


def test_a_lb_is_one_pound(deli) -> None:  # type: ignore[no-untyped-def]
    got = lines_of("order for sat: a lb genoa salami\n2 lb finocchiona", context(deli))
    assert [(ln.sku, float(ln.quantity), ln.unit) for ln in got] == [("SAL-GEN", 1.0, "lb"), ("SAL-FIN", 2.0, "lb")]


def test_price_per_kg_article_is_not_a_quantity() -> None:
    from chat2order.parsing import lines

    assert lines.read("salami 12 a lb", "en").quantity == 12


def test_history_does_not_override_an_origin_the_chef_wrote(deli) -> None:  # type: ignore[no-untyped-def]
    history = tuple(past(f"2026-03-0{d}T21:00:00-05:00", ("OLV-KAL-GR", 2, "tub")) for d in (2, 4, 6))
    line = lines_of("2 tubs kalamata pitted olives turkey", context(deli, history=history))[0]
    assert (line.sku, line.needs_review) == ("OLV-KAL-TR", False)


def test_abbreviation_the_catalog_writes_as_is_picks_that_sku(deli) -> None:  # type: ignore[no-untyped-def]
    line = lines_of("3 cs prawn xl frozen", context(deli))[0]
    assert line.sku == "PRW-XL"


def test_swapped_letters_in_the_product_noun_are_read(deli) -> None:  # type: ignore[no-untyped-def]
    history = tuple(past(f"2026-03-0{d}T21:00:00-05:00", ("LEM-EUR", 1, "case")) for d in (2, 4, 6))
    line = lines_of("2 cs leomn", context(deli, history=history))[0]
    assert line.sku == "LEM-EUR"


def test_misspelt_product_noun_does_not_silently_pick_another_product(deli) -> None:  # type: ignore[no-untyped-def]
    line = lines_of("2 jars fancy roasted tmato", context(deli))[0]
    assert line.needs_review


def test_a_word_read_as_talk_picks_among_equal_readings(deli) -> None:  # type: ignore[no-untyped-def]
    history = tuple(past(f"2026-03-0{d}T21:00:00-05:00", ("MOZ-FRESH", 2, None), ("MOZ-LOAF", 4, None)) for d in (2, 4, 6))
    line = lines_of("6 fresh mozzarella", context(deli, history=history))[0]
    assert (line.sku, line.needs_review) == ("MOZ-FRESH", False)


def test_unit_alone_picking_another_grade_than_the_usual_is_flagged(deli) -> None:  # type: ignore[no-untyped-def]
    history = tuple(past(f"2026-03-0{d}T21:00:00-05:00", ("CAB-RED-ORG", 6, None)) for d in (2, 4, 6))
    line = lines_of("5 lb red cabbage", context(deli, history=history))[0]
    assert (line.sku, line.needs_review) == ("CAB-RED-LOC", True)


def test_unit_alone_picking_another_variety_without_history_is_flagged(deli) -> None:  # type: ignore[no-untyped-def]
    line = lines_of("1 cs genoa salami", context(deli))[0]
    assert (line.sku, line.needs_review) == ("SAL-GEN-HOT", True)
    assert not lines_of("2 lb genoa salami", context(deli))[0].needs_review


def test_same_usual_sku_in_the_stated_unit_is_not_flagged_for_that(deli) -> None:  # type: ignore[no-untyped-def]
    history = tuple(past(f"2026-03-0{d}T21:00:00-05:00", ("CAB-RED-LOC", 5, "lb")) for d in (2, 4, 6))
    line = lines_of("5 lb red cabbage", context(deli, history=history))[0]
    assert (line.sku, line.needs_review) == ("CAB-RED-LOC", False)


def test_a_date_with_a_slash_is_not_a_quantity(deli) -> None:  # type: ignore[no-untyped-def]
    from chat2order.parsing import lines

    assert lines.read("For Wednesday 11/25 please send", "en").quantity is None
    assert lines.read("1/2 cs meyer lemons", "en").quantity == 0.5
    got = lines_of("Big catering!! For Wednesday 11/25 please send:\n2 cs meyer lemons", context(deli))
    assert [(ln.sku, float(ln.quantity)) for ln in got] == [("LEM-MEY", 2.0)]


def test_packaging_word_after_the_product_is_the_unit(deli) -> None:  # type: ignore[no-untyped-def]
    got = lines_of("tmrw 6 ciabatta loaves + 2 seeded rye loaves", context(deli))
    assert [(ln.sku, float(ln.quantity), ln.unit) for ln in got] == [("BRD-CIAB", 6.0, "loaf"), ("BRD-RYE", 2.0, "loaf")]


def test_unread_list_item_is_kept_for_review_not_dropped(deli) -> None:  # type: ignore[no-untyped-def]
    got = lines_of("4 cs meyer lemons, 2 qx, 1 cs castelvetrano olives", context(deli))
    assert [(ln.sku, float(ln.quantity), ln.needs_review) for ln in got] == [
        ("LEM-MEY", 4.0, False), (None, 2.0, True), ("OLV-CAST", 1.0, False)]


def test_changed_usual_line_keeps_other_usual_items_sharing_a_word() -> None:
    idx = index(PESCADO_ES, "es-ES")
    history = tuple(
        past(f"2026-03-0{d}T21:00:00+01:00", ("X-1", 3, "kg"), ("X-2", 2, "flat"), ("X-3", 2, "kg")) for d in (2, 4, 6)
    )
    got = lines_of("lo de siempre pero 5 kg de bacalao",
                   context(idx, locale="es-ES", history=history, received_at="2026-03-10T21:30:00+01:00"))
    assert sorted((ln.sku, float(ln.quantity)) for ln in got) == [("X-1", 5.0), ("X-2", 2.0), ("X-3", 2.0)]
