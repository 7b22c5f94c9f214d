"""Splitting a message into items (chat2order.parsing.segment)."""

from __future__ import annotations

import pytest

from chat2order.parsing.segment import segments


def test_one_item_per_line_with_bullets_and_numbers() -> None:
    text = "- 2 kg lemons\n• 3 cs onions\n1. 4 bunches parsley\n2) 1 bag carrots"
    assert segments(text, "en") == ["2 kg lemons", "3 cs onions", "4 bunches parsley", "1 bag carrots"]


def test_commas_and_semicolons() -> None:
    assert segments("2 kg lemons, 3 cs onions; 1 bag carrots", "en") == ["2 kg lemons", "3 cs onions", "1 bag carrots"]


def test_decimal_comma_is_not_a_separator() -> None:
    assert segments("1,5 kg de limão", "pt") == ["1,5 kg de limão"]


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("2 kg lemons and 3 cs onions", "en"),
        ("2 kg limões e 3 cx cebolas", "pt"),
        ("2 kg citrons et 3 colis oignons", "fr"),
        ("2 kg limoni e 3 casse cipolle", "it"),
        ("2 kg limones y 3 cajas cebollas", "es"),
    ],
)
def test_conjunction_between_items(text: str, lang: str) -> None:
    assert len(segments(text, lang)) == 2


def test_conjunction_inside_a_product_name_is_kept() -> None:
    assert segments("1 cs half and half", "en") == ["1 cs half and half"]


def test_run_on_items() -> None:
    assert segments("2cs roma 5kg onions 1 box lemons", "en") == ["2 cs roma", "5 kg onions", "1 box lemons"]


def test_pack_size_after_a_count_is_not_a_new_item() -> None:
    assert segments("Oignons jaunes 1 sac 25 kg", "fr") == ["Oignons jaunes 1 sac 25 kg"]


def test_plus_joins_items() -> None:
    assert segments("il solito + 2 kg porcini + 6 latte di pelati", "it") == [
        "il solito",
        "2 kg porcini",
        "6 latte di pelati",
    ]


def test_product_first_run_on_items() -> None:
    assert segments("eggs 2 potatoes 2 tomato 1 iceberg 1", "en") == ["eggs 2", "potatoes 2", "tomato 1", "iceberg 1"]


def test_and_a_half_stays_with_its_quantity() -> None:
    assert segments("3 kg de lima e dúzia e meia de alfaces", "pt") == ["3 kg de lima", "dúzia e meia de alfaces"]


def test_half_a_unit_after_and_is_a_new_item() -> None:
    assert segments("dos cajas de tomate y medio kilo de ajo", "es") == ["dos cajas de tomate", "medio kilo de ajo"]


def test_numbers_inside_a_note_do_not_start_items() -> None:
    assert segments("2 abóboras grandes (cerca de 3 kg cada)", "pt") == ["2 abóboras grandes (cerca de 3 kg cada)"]


def test_a_very_long_run_on_line_is_still_split_into_every_item() -> None:
    line = " ".join(f"{n} kg onions" for n in range(1, 301))
    assert segments(line, "en") == [f"{n} kg onions" for n in range(1, 301)]
