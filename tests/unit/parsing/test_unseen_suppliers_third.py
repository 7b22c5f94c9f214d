"""Generic reading rules found on a third held-out set (a drinks & dry-goods cash-and-carry, a fishmonger, a
Spanish butcher): complaints and paperwork that carry numbers, elided units, corrections, pack words of those
trades. Made-up catalogs and text; no benchmark message."""

from __future__ import annotations

import datetime as dt

import pytest
from tests.unit.parsing.catalogs import context, index, past

from chat2order.parsing import dates, grammar, lines, parse, segment
from chat2order.parsing.intent import classify


@pytest.mark.parametrize(
    ("text", "locale"),
    [
        # "please" asks for the credit, not for goods
        ("two of the crates of lager came in dented and one burst. credit pls", "en-GB"),
        ("statement says 4 cases of cider, we only had 2 delivered. please credit the difference", "en-GB"),
        ("las cervezas del lunes llegaron con mal olor, 3 cajas. abonadlas por favor", "es-ES"),
        ("la factura 5512 nos cobra 8 lechugas y recibimos 6, por favor revisadla", "es-ES"),
        # paperwork sent again is not a replacement delivery
        ("pouvez-vous me renvoyer la facture ? les 4 kg de poireaux ne correspond pas au bon", "fr-FR"),
        # a question and a forecast, with a price per kilo and a weekly amount
        ("quería saber el precio de la ternera a 12,50 €/kg, tenemos previsto unos 20 kg semanales", "es-ES"),
        ("wanted to know if you could hold the price of the beef at £9.80/kg, we'd use about 15 kg a week", "en-GB"),
    ],
)
def test_complaints_credits_and_questions_with_numbers_are_not_orders(text: str, locale: str) -> None:
    guess = classify(text, locale)
    assert (guess.intent, guess.confidence >= 0.8) == ("other", True)


@pytest.mark.parametrize(
    ("text", "locale"),
    [
        ("2 cs lager for friday please", "en-GB"),
        ("the 2 crates were smashed, please send 2 more tomorrow", "en-GB"),
        ("por favor 3 kg de ternera para mañana", "es-ES"),
        ("svp 2 sacs de farine pour jeudi", "fr-FR"),
        ("queria 2 cx de laranjas para sexta", "pt-PT"),
    ],
)
def test_please_still_makes_a_plain_order(text: str, locale: str) -> None:
    assert classify(text, locale).intent == "order"


CARNES_ES = [
    ("K-1", "Lengua de ternera", "kg", "kg"),
    ("K-2", "Rabo de cerdo", "kg", "kg"),
    ("K-3", "Codillo de cerdo", "pieza", "each"),
]


@pytest.fixture(scope="module")
def carnes():  # type: ignore[no-untyped-def]
    return index(CARNES_ES, "es-ES")


def test_number_then_de_leaves_the_unit_unsaid_not_a_count(carnes) -> None:  # type: ignore[no-untyped-def]
    got = parse("para el jueves 4 kg de lengua y 3 de rabo de cerdo", context(carnes, "es-ES")).lines
    assert [(ln.sku, float(ln.quantity), ln.unit) for ln in got] == [("K-1", 4.0, "kg"), ("K-2", 3.0, None)]


def test_a_plain_count_of_a_by_weight_cut_is_still_pieces(carnes) -> None:  # type: ignore[no-untyped-def]
    got = parse("3 rabos de cerdo para el jueves", context(carnes, "es-ES")).lines
    assert [(ln.sku, float(ln.quantity), ln.unit) for ln in got] == [("K-2", 3.0, "each")]


def test_elided_unit_is_only_read_in_the_romance_languages() -> None:
    assert lines.read("2 de manitas", "es").elided_unit
    assert lines.read("2 di pecorino", "it").elided_unit
    assert not lines.read("2 of the pork knuckles", "en").elided_unit
    assert not lines.read("2 kg de manitas", "es").elided_unit


BOISSONS_FR = [
    ("B-1", "Jus de pomme trouble", "carton 6 x 1 L", "case"),
    ("B-2", "Limonade artisanale", "carton 12 x 33 cl", "case"),
    ("B-3", "Sirop de grenadine", "bouteille 70 cl", "bottle"),
    ("B-4", "Huître creuse n°2", "kg", "kg"),
]
CAVE_EN = [
    ("W-1", "LAGER PREMIUM 330ML BTL", "24x330ml", "case"),
    ("W-2", "CIDER DRY 500ML", "12x500ml", "case"),
    ("W-3", "SPARKLING WATER 750ML GLASS", "12x750ml", "case"),
]


@pytest.fixture(scope="module")
def boissons():  # type: ignore[no-untyped-def]
    return index(BOISSONS_FR, "fr-FR")


@pytest.fixture(scope="module")
def cave():  # type: ignore[no-untyped-def]
    return index(CAVE_EN, "en-GB")


def test_french_asks_to_take_up_the_order_below_again(boissons) -> None:  # type: ignore[no-untyped-def]
    text = (
        "Bonjour,\n\nPourriez-vous refaire la commande ci-dessous pour jeudi ?\n\nMerci\nPaul\n\n"
        "Le lun. 2 mars 2026 à 18:00, Paul <paul@example.fr> a écrit :\n> 2 cartons jus de pomme\n> 3 sirops de grenadine"
    )
    got = parse(text, context(boissons, "fr-FR", received_at="2026-03-10T21:30:00+01:00")).lines
    assert sorted((ln.sku, float(ln.quantity)) for ln in got) == [("B-1", 2.0), ("B-3", 3.0)]


def test_removal_from_a_repeated_quote_ignores_words_the_catalog_does_not_know(cave) -> None:  # type: ignore[no-untyped-def]
    text = (
        "Hi, can you repeat the order below for Friday, but no cider this week.\n\n"
        "On Mon, 2 Mar 2026 at 18:00, Sam <sam@example.co.uk> wrote:\n> 2 cs lager\n> 1 cs cider\n> 3 cs sparkling water"
    )
    got = parse(text, context(cave, "en-GB", received_at="2026-03-10T21:30:00+00:00")).lines
    assert sorted(ln.sku for ln in got) == ["W-1", "W-3"]


def test_a_corrected_amount_keeps_the_first_number(boissons) -> None:  # type: ignore[no-untyped-def]
    got = parse("pour demain mets 5 kg d'huîtres pas 4", context(boissons, "fr-FR")).lines
    assert [(ln.sku, float(ln.quantity), ln.unit) for ln in got] == [("B-4", 5.0, "kg")]


def test_not_before_a_number_in_each_romance_language_marks_the_replaced_amount() -> None:
    carnes = index([("K-9", "Lomo de cerdo", "kg", "kg")], "es-ES")
    got = parse("para mañana 6 kg de lomo no 4", context(carnes, "es-ES")).lines
    assert [(ln.sku, float(ln.quantity)) for ln in got] == [("K-9", 6.0)]


BAR_EN = [
    ("K-LAG", "HOUSE LAGER KEG 50L", "50L keg", "each"),
    ("K-STO", "STOUT KEG 30L", "30L keg", "each"),
    ("V-GIN", "LONDON DRY GIN 70CL", "70cl", "bottle"),
]


@pytest.fixture(scope="module")
def bar():  # type: ignore[no-untyped-def]
    return index(BAR_EN, "en-GB")


def test_a_keg_is_the_sale_pack_of_a_draught_line(bar) -> None:  # type: ignore[no-untyped-def]
    got = parse("2 kegs of lager and a keg of stout for friday", context(bar, "en-GB")).lines
    assert [(ln.sku, float(ln.quantity), ln.unit) for ln in got] == [("K-LAG", 2.0, None), ("K-STO", 1.0, None)]


def test_the_usual_then_plus_items_splits_at_plus(bar) -> None:  # type: ignore[no-untyped-def]
    history = tuple(past(f"2026-03-0{d}T21:00:00+00:00", ("K-LAG", 1, None)) for d in (2, 4, 6))
    got = parse("usual for friday please plus 4 bottles of gin and a keg of stout", context(bar, "en-GB", history=history)).lines
    assert sorted((ln.sku, float(ln.quantity)) for ln in got) == [("K-LAG", 1.0), ("K-STO", 1.0), ("V-GIN", 4.0)]


def test_an_article_before_a_sale_pack_word_is_one() -> None:
    raw = lines.read("une plaquette de beurre", "fr")
    assert (raw.quantity, raw.kind, raw.words) == (1.0, "sale_pack", ["beurre"])


MAREE_FR = [
    ("P-1", "Barbue sauvage", "kg", "kg"),
    ("P-2", "Limande", "kg", "kg"),
]


@pytest.fixture(scope="module")
def maree():  # type: ignore[no-untyped-def]
    return index(MAREE_FR, "fr-FR")


def test_a_counted_fish_of_about_a_weight_is_one_line_of_one_fish(maree) -> None:  # type: ignore[no-untyped-def]
    got = parse("pour jeudi: 1 barbue sauvage de 3 kg environ, 2 kg de limande", context(maree, "fr-FR")).lines
    assert [(ln.sku, float(ln.quantity), ln.unit) for ln in got] == [("P-1", 1.0, "each"), ("P-2", 2.0, "kg")]


@pytest.mark.parametrize(
    ("text", "lang"),
    [("une barbue d'environ 2,5 kg", "fr"), ("a brill of about 2.5 kg", "en"), ("un rodaballo de unos 2,5 kg", "es")],
)
def test_an_article_then_an_approximate_weight_is_one_piece_of_that_size(text: str, lang: str) -> None:
    raw = lines.read(text, lang)
    assert (raw.quantity, raw.unit, "m2.5" in raw.specs) == (1.0, None, True)
    assert not {"environ", "about", "unos"} & {w.lower() for w in raw.words}


def test_an_approximate_weight_alone_is_still_the_amount() -> None:
    raw = lines.read("about 3 kg of onions", "en")
    assert (raw.quantity, raw.unit) == (3.0, "kg")


@pytest.mark.parametrize(
    ("text", "locale", "expected"),
    [
        ("the usual for sat but only 2 cs lager", "en-GB", "2026-03-14"),
        ("the crisps were stale, please collect and replace on mon", "en-GB", "2026-03-16"),
        ("ok pour les 2 barbues, livraison le 19 au matin", "fr-FR", "2026-03-19"),
        ("vale, entrega el 19 temprano", "es-ES", "2026-03-19"),
    ],
)
def test_short_weekdays_and_days_of_the_month_after_a_delivery_word(text: str, locale: str, expected: str) -> None:
    received = dt.datetime.fromisoformat("2026-03-11T21:00:00+00:00")  # a Wednesday
    assert str(dates.delivery_date(text, received, locale)) == expected


@pytest.mark.parametrize(
    ("text", "locale"),
    [("le 12 on a reçu 3 caisses abîmées", "fr-FR"), ("sorry we sat on it and forgot, 2 cs lager", "en-GB")],
)
def test_a_bare_day_number_or_a_verb_is_no_delivery_day(text: str, locale: str) -> None:
    received = dt.datetime.fromisoformat("2026-03-11T21:00:00+00:00")
    assert dates.delivery_date(text, received, locale) is None


CRUSTACES_FR = [("H-1", "Homard bleu vivant", "kg", "kg"), ("H-2", "Basilic", "kg", "kg")]


def test_a_count_once_ordered_as_kilos_is_still_pieces() -> None:
    idx = index(CRUSTACES_FR, "fr-FR")
    history = (past("2026-03-02T21:00:00+01:00", ("H-1", 3, "kg")), past("2026-03-04T21:00:00+01:00", ("H-2", 1, "kg")))
    got = parse("3 homards bleus pour vendredi", context(idx, "fr-FR", history=history)).lines
    assert [(ln.sku, float(ln.quantity), ln.unit) for ln in got] == [("H-1", 3.0, "each")]


def test_a_count_the_kitchen_orders_as_kilos_every_week_is_kilos() -> None:
    idx = index(CRUSTACES_FR, "fr-FR")
    history = tuple(past(f"2026-03-0{d}T21:00:00+01:00", ("H-2", 1, "kg")) for d in (2, 4, 6))
    got = parse("pour vendredi basilic 1", context(idx, "fr-FR", history=history)).lines
    assert [(ln.sku, float(ln.quantity), ln.unit) for ln in got] == [("H-2", 1.0, None)]


@pytest.mark.parametrize(
    ("text", "locale"),
    [("pour vendredi 3 homards bleus", "fr-FR"), ("para el jueves 3 rabos de cerdo", "es-ES"), ("for thursday 4 kegs of stout", "en-GB")],
)
def test_a_number_after_a_weekday_then_a_product_is_an_order(text: str, locale: str) -> None:
    assert classify(text, locale).intent == "order"


def test_a_weekday_with_its_date_alone_is_no_quantity() -> None:
    assert classify("livraison jeudi 10 décembre, merci", "fr-FR").intent == "other"


BEBIDAS_PT = [
    ("C-KEG", "Cerveja Sagres barril 30 L", "barril", "each"),
    ("C-LAT", "Cerveja Sagres lata 33 cl", "cx 24 latas", "case"),
    ("C-GAR", "Cerveja Sagres garrafa 33 cl", "cx 24 garrafas", "case"),
    ("H-CX", "Hambúrguer de novilho 150 g", "cx 20 un.", "case"),
    ("H-UN", "Hambúrguer de novilho 150 g", "un.", "each"),
]


@pytest.fixture(scope="module")
def bebidas():  # type: ignore[no-untyped-def]
    return index(BEBIDAS_PT, "pt-PT")


def test_a_pack_word_after_the_product_picks_the_form_among_equal_readings() -> None:
    guinness = index([("G-K", "STOUT DRAUGHT KEG 50L", "50L keg", "each"), ("G-C", "STOUT DRAUGHT 440ML CAN", "24x440ml", "case")], "en-GB")
    got = parse("a case of stout cans for friday", context(guinness, "en-GB")).lines
    assert [(ln.sku, float(ln.quantity), ln.unit) for ln in got] == [("G-C", 1.0, "case")]
    assert lines.read("a case of stout cans", "en").words == ["stout"]


def test_a_bare_count_of_a_product_sold_by_the_box_and_by_the_piece_is_pieces(bebidas) -> None:  # type: ignore[no-untyped-def]
    got = parse("para amanhã 12 hambúrgueres de novilho", context(bebidas, "pt-PT")).lines
    assert [(ln.sku, float(ln.quantity), ln.unit, ln.needs_review) for ln in got] == [("H-UN", 12.0, None, False)]
    boxes = parse("para amanhã 2 cx hambúrgueres de novilho", context(bebidas, "pt-PT")).lines
    assert [(ln.sku, float(ln.quantity)) for ln in boxes] == [("H-CX", 2.0)]


def test_a_stop_after_an_abbreviated_unit_does_not_end_the_item() -> None:
    assert segment.segments("2 kg de carapau, 4 douz. de ostras, 3 cx. de limão. Obrigado", "pt") == [
        "2 kg de carapau", "4 douz de ostras", "3 cx de limão", "Obrigado",
    ]


CODES_EN = [
    ("100234", "HOUSE LAGER 330ML BTL", "24x330ml", "case"),
    ("100235", "HOUSE CIDER 500ML", "12x500ml", "case"),
    ("AB-77", "TONIC WATER 200ML", "24x200ml", "case"),
    ("1500", "SPARKLING WATER 750ML", "12x750ml", "case"),
]


@pytest.fixture(scope="module")
def codes():  # type: ignore[no-untyped-def]
    return index(CODES_EN, "en-GB")


def test_quoted_item_codes_name_their_skus(codes) -> None:  # type: ignore[no-untyped-def]
    got = parse("hi - ref 100234 x2 and 100235 x4 for friday", context(codes, "en-GB")).lines
    assert [(ln.sku, float(ln.quantity), ln.needs_review) for ln in got] == [("100234", 2.0, False), ("100235", 4.0, False)]


def test_short_numeric_codes_are_not_read_as_codes(codes) -> None:  # type: ignore[no-untyped-def]
    from chat2order.parsing.picks import item_codes

    assert set(item_codes(codes).values()) == {"100234", "100235", "AB-77"}


def test_an_ordinal_day_is_no_amount_but_a_saint_is_a_name() -> None:
    assert lines.read("we've got a party on the 23rd so please add", "en").quantity is None
    raw = lines.read("24 St Marcellin", "fr")
    assert (raw.quantity, [w.lower() for w in raw.words]) == (24.0, ["st", "marcellin"])


SOFT_EN = [
    ("S-1", "COLA ORIGINAL 330ML CAN", "24x330ml", "case"),
    ("S-2", "DIET COLA 330ML CAN", "24x330ml", "case"),
    ("S-3", "MILK SEMI SKIMMED 2L", "2L", "bottle"),
]


def test_a_variant_the_chef_did_not_write_is_asked_about() -> None:
    idx = index(SOFT_EN, "en-GB")
    history = tuple(past(f"2026-03-0{d}T21:00:00+00:00", ("S-2", 1, "case")) for d in (2, 4, 6))
    got = parse("2 cs diet cola and 3 milk for friday", context(idx, "en-GB", history=history)).lines
    assert [(ln.sku, ln.needs_review) for ln in got] == [("S-2", False), ("S-3", True)]


def test_a_function_word_is_never_a_unit_even_where_pint_knows_it() -> None:
    raw = lines.read("sans les pavés de saumon (on a du stock)", "fr")
    assert (raw.quantity, raw.unit) == (None, None)


@pytest.mark.parametrize(
    ("text", "lang"),
    [("2 kilogrammes de carottes", "fr"), ("2 kilogramos de patatas", "es"), ("2 chilogrammi di zucca", "it"), ("2 quilogramas de batata", "pt")],
)
def test_kilograms_spelt_out_in_each_language_are_kilos(text: str, lang: str) -> None:
    raw = lines.read(text, lang)
    assert (raw.quantity, raw.unit) == (2.0, "kg")


MIXERS_EN = [
    ("X-1", "PREMIUM INDIAN TONIC 200ML", "24x200ml", "case"),
    ("X-2", "CLUB TONIC WATER 200ML", "24x200ml", "case"),
    ("X-3", "CLUB SLIMLINE TONIC 200ML", "24x200ml", "case"),
    ("X-4", "GINGER ALE 200ML", "24x200ml", "case"),
]


@pytest.fixture(scope="module")
def mixers():  # type: ignore[no-untyped-def]
    return index(MIXERS_EN, "en-GB")


def test_swap_on_the_usual_replaces_the_named_line(mixers) -> None:  # type: ignore[no-untyped-def]
    history = tuple(past(f"2026-03-0{d}T21:00:00+00:00", ("X-1", 2, "case"), ("X-4", 1, "case")) for d in (2, 4, 6))
    got = parse("the usual for friday but swap the premium tonic for club tonic", context(mixers, "en-GB", history=history)).lines
    assert sorted((ln.sku, float(ln.quantity), ln.needs_review) for ln in got) == [("X-2", 2.0, False), ("X-4", 1.0, False)]


def test_the_plain_product_wins_over_an_unasked_variant(mixers) -> None:  # type: ignore[no-untyped-def]
    got = parse("3 cs club tonic for friday", context(mixers, "en-GB")).lines
    assert [(ln.sku, ln.needs_review) for ln in got] == [("X-2", False)]
    slim = parse("3 cs club slimline tonic for friday", context(mixers, "en-GB")).lines
    assert [ln.sku for ln in slim] == ["X-3"]


def test_swap_pattern_reads_the_old_and_the_new_product_in_spanish() -> None:
    m = grammar.swap_pattern("es").search("pero cambia el chuleton por 10 kg de entrecot")
    assert m is not None and (m.group("old"), m.group("new")) == ("el chuleton", "10 kg de entrecot")


def test_a_conditional_ask_matched_to_something_the_kitchen_never_had_is_checked() -> None:
    idx = index([("R-1", "BLACKCURRANT CORDIAL 1L", "1L", "bottle"), ("R-2", "LAGER 330ML BTL", "24x330ml", "case")], "en-GB")
    history = tuple(past(f"2026-03-0{d}T21:00:00+00:00", ("R-2", 1, "case")) for d in (2, 4, 6))
    got = parse("1 cs lager and 2 blackcurrant if you do them", context(idx, "en-GB", history=history)).lines
    assert [(ln.sku, ln.needs_review) for ln in got] == [("R-2", False), ("R-1", True)]


@pytest.mark.parametrize(
    ("text", "lang", "quantity"),
    [("repetid el pedido de abajo para el jueves 24, pero con 4 pollos", "es", 4.0), ("jeudi 3 sacs de pommes", "fr", 3.0)],
)
def test_a_weekday_then_its_date_before_a_stop_is_no_amount(text: str, lang: str, quantity: float) -> None:
    assert lines.read(text, lang).quantity == quantity
