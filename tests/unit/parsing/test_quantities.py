"""Quantities and units of one item, in the five languages (chat2order.parsing.lines)."""

from __future__ import annotations

import pytest

from chat2order.parsing.lines import read


@pytest.mark.parametrize(
    ("text", "lang", "quantity", "unit"),
    [
        ("2cs roma", "en", 2, "case"),
        ("5kg onions", "en", 5, "kg"),
        ("1.5 kg lemons", "en", 1.5, "kg"),
        ("tomates 3,5 kg", "pt", 3.5, "kg"),
        ("1/2 case limes", "en", 0.5, "case"),
        ("1 1/2 lb butter", "en", 1.5, "lb"),
        ("½ kg basilico", "it", 0.5, "kg"),
        ("25# onions", "en", 25, "lb"),
        ("3 lbs chanterelles", "en", 3, "lb"),
        ("2 kilos de tomate", "es", 2, "kg"),
        ("3 quilos de cebola", "pt", 3, "kg"),
        ("500 g de truffe", "fr", 500, "g"),
        ("6 L de lait", "fr", 6, "l"),
    ],
)
def test_digits_decimals_fractions_and_measures(text: str, lang: str, quantity: float, unit: str) -> None:
    line = read(text, lang)
    assert (line.quantity, line.unit) == (quantity, unit)


@pytest.mark.parametrize(
    ("text", "lang", "quantity", "unit"),
    [
        ("two cases of limes", "en", 2, "case"),
        ("a case of sweet potatoes", "en", 1, "case"),
        ("a couple of bags onions", "en", 2, "bag"),
        ("half a case of apples", "en", 0.5, "case"),
        ("a dozen eggs", "en", 1, "dozen"),
        ("duas caixas de limão", "pt", 2, "case"),
        ("meia caixa de limão", "pt", 0.5, "case"),
        ("dúzia e meia de ovos", "pt", 1.5, "dozen"),
        ("deux sacs de carottes", "fr", 2, "bag"),
        ("une douzaine de citrons", "fr", 1, "dozen"),
        ("tre mazzi di basilico", "it", 3, "bunch"),
        ("mezzo kg di funghi", "it", 0.5, "kg"),
        ("dos cajas de naranjas", "es", 2, "case"),
        ("medio kilo de ajo", "es", 0.5, "kg"),
    ],
)
def test_number_words_in_five_languages(text: str, lang: str, quantity: float, unit: str) -> None:
    line = read(text, lang)
    assert (line.quantity, line.unit) == (quantity, unit)


@pytest.mark.parametrize(
    ("text", "lang", "unit"),
    [
        ("2 cx limão", "pt", "case"),
        ("2 caixas limão", "pt", "case"),
        ("3 molhos salsa", "pt", "bunch"),
        ("2 maços de coentros", "pt", "bunch"),
        ("4 cuvetes morangos", "pt", "flat"),
        ("1 saco cenoura", "pt", "bag"),
        ("3 colis de tomates", "fr", "case"),
        ("6 bottes persil", "fr", "bunch"),
        ("2 plateaux d'œufs", "fr", "flat"),
        ("2 barquettes de fraises", "fr", "flat"),
        ("1 sac oignons", "fr", "bag"),
        ("2 casse di zucchine", "it", "case"),
        ("3 mazzi salvia", "it", "bunch"),
        ("4 sacchi farina", "it", "bag"),
        ("2 vaschette di fragole", "it", "flat"),
        ("6 latte di pelati", "it", "can"),
        ("3 cajas de tomate", "es", "case"),
        ("2 manojos de perejil", "es", "bunch"),
        ("1 malla de limones", "es", "bag"),
        ("2 costales de cebolla", "es", "bag"),
        ("2 bandejas de fresas", "es", "flat"),
        ("2 ctn milk", "en", "case"),
        ("1 bx lemons", "en", "case"),
        ("3 dz eggs", "en", "dozen"),
        ("10 ea artichokes", "en", "each"),
        ("2 pk shiso", "en", "pack"),
        ("4 btl vinegar", "en", "bottle"),
    ],
)
def test_packaging_words_map_to_canonical_units(text: str, lang: str, unit: str) -> None:
    assert read(text, lang).unit == unit


def test_sale_pack_word_keeps_the_sale_unit() -> None:
    line = read("20 plaquettes de beurre", "fr")
    assert (line.quantity, line.unit, line.sale_pack) == (20, None, "plaquettes")


@pytest.mark.parametrize("text", ["lemons x2", "lemons x 2", "2x lemons", "lemons ×2"])
def test_multiplier_forms(text: str) -> None:
    line = read(text, "en")
    assert (line.quantity, line.unit, line.words) == (2, None, ["lemons"])


def test_quantity_after_the_product() -> None:
    line = read("Oignons jaunes 2 sacs", "fr")
    assert (line.quantity, line.unit, line.product) == (2, "bag", "Oignons jaunes")


@pytest.mark.parametrize("text", ["2x5kg onions", "2 x 5kg onions", "2 bags of 5kg onions"])
def test_count_of_packed_size_keeps_the_size_as_a_spec(text: str) -> None:
    line = read(text, "en")
    assert line.quantity == 2
    assert "m5" in line.specs


def test_size_after_a_pack_word_is_a_spec() -> None:
    line = read("Oignons jaunes 1 sac 25 kg", "fr")
    assert (line.quantity, line.unit, line.specs) == (1, "bag", ["m25"])


def test_count_then_sized_product() -> None:
    line = read("30 x 8oz sirloin steaks", "en")
    assert (line.quantity, line.unit, line.words) == (30, None, ["sirloin", "steaks"])


def test_size_range_in_the_name_is_not_the_quantity() -> None:
    line = read("Hake fillet 1-2kg - 4kg", "en")
    assert (line.quantity, line.unit) == (4, "kg")


@pytest.mark.parametrize("text", ["2 or 3 cs avocados", "3-4 fish", "10kg? hake"])
def test_unsure_quantities_are_flagged_without_a_quantity(text: str) -> None:
    line = read(text, "en")
    assert line.unsure and line.quantity is None


def test_count_size_is_not_a_quantity() -> None:
    line = read("3 cs lemon 115ct", "en")
    assert (line.quantity, line.specs) == (3, ["c115"])


def test_number_word_inside_a_product_name_stays_a_word() -> None:
    line = read("1 cs half and half", "en")
    assert (line.quantity, line.unit, line.words) == (1, "case", ["half", "half"])


@pytest.mark.parametrize(("text", "lang"), [("1 molho... digo 2 molhos de salsa", "pt"), ("1 kg anzi 2 kg di limoni", "it")])
def test_self_correction_keeps_the_final_quantity(text: str, lang: str) -> None:
    assert read(text, lang).quantity == 2


@pytest.mark.parametrize("text", ["price was $41.50 last week", "we open at 9:40", "dinner for 60 people"])
def test_prices_times_and_head_counts_are_not_quantities(text: str) -> None:
    assert read(text, "en").quantity is None


def test_culinary_measures_read_through_pint() -> None:
    assert [read(t, "en").unit for t in ("2 cups flour", "3 tbsp oil", "1 tsp salt", "2 tablespoons sugar")] == [
        "cup",
        "tbsp",
        "tsp",
        "tbsp",
    ]
