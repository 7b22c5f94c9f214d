"""Generic reading rules found on a second held-out set (a butcher, a cheesemonger, an Italian dry-goods
house): ageing words in names, "X di Y" names that end in a pack word, saints' abbreviations, pack words of
those trades. Made-up catalogs and text; no benchmark message."""

from __future__ import annotations

import pytest
from tests.unit.parsing.catalogs import context, index, past

from chat2order.parsing import lines, parse

FROMAGES_FR = [
    ("Q-1", "Gruyère AOP 10 mois", "kg", "kg"),
    ("Q-2", "Gruyère AOP 20 mois", "kg", "kg"),
    ("Q-3", "Saint-Nectaire fermier AOP", "pièce", "each"),
    ("Q-4", "Sainte-Odile tomme", "kg", "kg"),
    ("Q-5", "Beurre demi-sel", "motte 1 kg", "kg"),
    ("Q-6", "Beurre demi-sel", "plaquette 250 g", "each"),
    ("Q-7", "Parmigiano Reggiano 36 mois", "kg", "kg"),
]

DISPENSA_IT = [
    ("D-1", "Latte intero fresco", "bottiglia 1 l", "bottle"),
    ("D-2", "Crema di latte", "brick 1 l", "each"),
    ("D-3", "Fior di latte vaccino", "filone 1 kg", "each"),
    ("D-4", "Pecorino toscano", "kg", "kg"),
    ("D-5", "Semola rimacinata", "sacchetto 5 kg", "bag"),
    ("D-6", "Semola rimacinata", "sacco 25 kg", "bag"),
]


@pytest.fixture(scope="module")
def fromages():  # type: ignore[no-untyped-def]
    return index(FROMAGES_FR, "fr-FR")


@pytest.fixture(scope="module")
def dispensa():  # type: ignore[no-untyped-def]
    return index(DISPENSA_IT, "it-IT")


def test_ageing_in_months_names_the_product_not_a_second_line(fromages) -> None:  # type: ignore[no-untyped-def]
    got = parse("pour jeudi 3 kg de gruyère 20 mois merci", context(fromages, "fr-FR")).lines
    assert [(ln.sku, float(ln.quantity), ln.unit, ln.needs_review) for ln in got] == [("Q-2", 3.0, "kg", False)]


def test_ageing_beats_the_standing_sku_of_another_age(fromages) -> None:  # type: ignore[no-untyped-def]
    history = tuple(past(f"2026-03-0{d}T21:00:00+01:00", ("Q-1", 2, "kg")) for d in (2, 4, 6))
    got = parse("2 kg gruyère 20 mois", context(fromages, "fr-FR", history=history)).lines
    assert [(ln.sku, float(ln.quantity)) for ln in got] == [("Q-2", 2.0)]


def test_ageing_is_a_size_token_on_both_sides() -> None:
    raw = lines.read("4 kg grana 18 mesi", "it")
    assert (raw.quantity, raw.unit, "a18" in raw.specs) == (4.0, "kg", True)
    assert "a18" in lines.read("Grana Padano 18 mesi", "it", catalog=True).specs


def test_pack_word_closing_an_x_di_y_name_is_not_the_unit(dispensa) -> None:  # type: ignore[no-untyped-def]
    got = parse("domani 12 fior di latte e 2 crema di latte", context(dispensa, "it-IT")).lines
    assert [(ln.sku, float(ln.quantity), ln.unit) for ln in got] == [("D-3", 12.0, None), ("D-2", 2.0, None)]


def test_written_range_beats_an_article_that_says_how_it_is_cut(dispensa) -> None:  # type: ignore[no-untyped-def]
    line = parse("domani 1 o 2 kg di pecorino a pezzi", context(dispensa, "it-IT")).lines[0]
    assert (line.sku, line.quantity, line.needs_review) == ("D-4", None, True)


def test_sacchetto_is_a_bag_and_its_size_picks_the_sku(dispensa) -> None:  # type: ignore[no-untyped-def]
    line = parse("domani 2 sacchetti da 5 kg di semola", context(dispensa, "it-IT")).lines[0]
    assert (line.sku, float(line.quantity), line.unit) == ("D-5", 2.0, "bag")


def test_saint_abbreviations_meet_hyphenated_names(fromages) -> None:  # type: ignore[no-untyped-def]
    got = parse("demain 3 st nectaire et 2 kg ste odile", context(fromages, "fr-FR")).lines
    assert [(ln.sku, float(ln.quantity)) for ln in got] == [("Q-3", 3.0), ("Q-4", 2.0)]


def test_half_a_motte_is_half_the_sale_pack(fromages) -> None:  # type: ignore[no-untyped-def]
    line = parse("rajoute une demi motte de beurre demi-sel", context(fromages, "fr-FR")).lines[0]
    assert (line.sku, float(line.quantity), line.unit) == ("Q-5", 0.5, None)


def test_parmesan_is_parmigiano(fromages) -> None:  # type: ignore[no-untyped-def]
    line = parse("2 kg de parmesan pour demain", context(fromages, "fr-FR")).lines[0]
    assert (line.sku, float(line.quantity), line.unit) == ("Q-7", 2.0, "kg")


def test_douz_is_a_dozen() -> None:
    raw = lines.read("2 douz d'huîtres", "fr")
    assert (raw.quantity, raw.unit) == (2.0, "dozen")


def test_removing_one_oil_keeps_the_other_standing_oil(dispensa) -> None:  # type: ignore[no-untyped-def]
    oils = index([("O-1", "Olio extravergine di oliva", "latta 5 l", "can"),
                  ("O-2", "Olio di semi di girasole", "latta 10 l", "can"),
                  ("O-3", "Pecorino toscano", "kg", "kg")], "it-IT")
    history = tuple(
        past(f"2026-03-0{d}T21:00:00+01:00", ("O-1", 1, "can"), ("O-2", 1, "can"), ("O-3", 2, "kg")) for d in (2, 4, 6)
    )
    got = parse("per lunedì il solito ma niente olio di girasole", context(oils, "it-IT", history=history)).lines
    assert sorted(ln.sku for ln in got) == ["O-1", "O-3"]


def test_weight_of_an_unstocked_item_is_kept_for_a_person(dispensa) -> None:  # type: ignore[no-untyped-def]
    got = parse("domani 2 kg di pecorino e mezzo kg di mandorle", context(dispensa, "it-IT")).lines
    assert [(ln.sku, float(ln.quantity), ln.not_carried, ln.needs_review) for ln in got] == [
        ("D-4", 2.0, False, False), (None, 0.5, True, True)]


def test_conditional_ask_for_an_unstocked_item_is_kept(dispensa) -> None:  # type: ignore[no-untyped-def]
    got = parse("domani 3 kg di pecorino, e una coppa se la avete", context(dispensa, "it-IT")).lines
    assert [(ln.sku, ln.not_carried) for ln in got] == [("D-4", False), (None, True)]


TALHO_PT = [
    ("T-1", "Pato inteiro", "un.", "each"),
    ("T-2", "Peito de pato", "kg", "kg"),
    ("T-3", "Perna de pato confitada", "kg", "kg"),
    ("T-4", "Lombo de porco", "kg", "kg"),
]


@pytest.fixture(scope="module")
def talho():  # type: ignore[no-untyped-def]
    return index(TALHO_PT, "pt-PT")


def test_the_product_noun_beats_a_name_where_it_is_only_the_complement(talho) -> None:  # type: ignore[no-untyped-def]
    history = tuple(past(f"2026-03-0{d}T21:00:00+00:00", ("T-1", 6, None), ("T-2", 2, "kg"), ("T-3", 1, "kg"))
                    for d in (2, 4, 6))
    line = parse("amanhã mais 4 patos", context(talho, "pt-PT", history=history)).lines[0]
    assert (line.sku, float(line.quantity), line.needs_review) == ("T-1", 4.0, False)


def test_instead_of_an_old_number_is_not_a_list_item(talho) -> None:  # type: ignore[no-untyped-def]
    history = tuple(past(f"2026-03-0{d}T21:00:00+00:00", ("T-1", 6, None), ("T-4", 3, "kg")) for d in (2, 4, 6))
    got = parse("o costume p sexta mas 9 patos em vez de 6", context(talho, "pt-PT", history=history)).lines
    assert sorted((ln.sku, float(ln.quantity)) for ln in got) == [("T-1", 9.0), ("T-4", 3.0)]


def test_a_repeated_quoted_line_with_the_old_quantity_goes(talho) -> None:  # type: ignore[no-untyped-def]
    text = ("Pode repetir a encomenda abaixo, mas com 5 kg de lombo em vez de 3.\n\n"
            "Em seg., 2/03/2026 às 21:00, Cozinha <c@example.pt> escreveu:\n> 3 kg lombo de porco\n> 2 patos")
    got = parse(text, context(talho, "pt-PT")).lines
    assert sorted((ln.sku, float(ln.quantity)) for ln in got) == [("T-1", 2.0), ("T-4", 5.0)]


def test_la_meme_chose_que_d_habitude_repeats_the_usual(fromages) -> None:  # type: ignore[no-untyped-def]
    history = tuple(past(f"2026-03-0{d}T21:00:00+01:00", ("Q-3", 4, None), ("Q-5", 2, "kg")) for d in (2, 4, 6))
    got = parse("Pour mardi la même chose que d'habitude merci", context(fromages, "fr-FR", history=history)).lines
    assert sorted((ln.sku, float(ln.quantity)) for ln in got) == [("Q-3", 4.0), ("Q-5", 2.0)]


def test_evo_is_extra_virgin_where_the_catalog_spells_it_out() -> None:
    oils = index([("O-1", "Olio extravergine di oliva", "latta 5 l", "can"),
                  ("O-2", "Olio di semi di girasole", "latta 10 l", "can"),
                  ("O-3", "Sgombro all'olio di oliva", "vaso 300 g", "jar")], "it-IT")
    line = parse("domani 2 latte olio evo", context(oils, "it-IT")).lines[0]
    assert (line.sku, float(line.quantity), line.needs_review) == ("O-1", 2.0, False)


def test_a_pack_named_with_a_definite_article_is_not_one_more(dispensa) -> None:  # type: ignore[no-untyped-def]
    assert lines.read("quanto costa la vaschetta di ricotta?", "it").quantity is None
    assert lines.read("cassa di limoni", "it").quantity == 1.0
