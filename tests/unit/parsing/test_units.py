"""Unit words and catalog pack strings (chat2order.parsing.units)."""

from __future__ import annotations

import pytest

from chat2order.parsing.units import parse_pack, unit_word


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("kg", ("measure", "kg")),
        ("kilograms", ("measure", "kg")),
        ("litres", ("measure", "l")),
        ("#", ("measure", "lb")),
        ("lbs", ("measure", "lb")),
        ("gr", ("measure", "g")),
        ("cs", ("package", "case")),
        ("Caixa", ("package", "case")),
        ("sacs", ("package", "bag")),
        ("mazzi", ("package", "bunch")),
        ("barquettes", ("package", "flat")),
        ("dúzias", ("count", "dozen")),
        ("pièces", ("count", "each")),
        ("plaquette", ("sale_pack", "plaquette")),
    ],
)
def test_unit_words(word: str, expected: tuple[str, str]) -> None:
    assert unit_word(word) == expected


def test_unknown_word_is_not_a_unit() -> None:
    assert unit_word("tomato") is None


def test_case_pack_with_weight() -> None:
    pack = parse_pack("25 lb case", "case")
    assert (pack.container, pack.count, round(pack.content or 0, 3), pack.per_measure) == ("case", 1, 11.34, None)


def test_portuguese_box_pack() -> None:
    pack = parse_pack("cx 6 kg", "case")
    assert (pack.container, pack.content) == ("case", 6.0)


@pytest.mark.parametrize(
    ("pack", "count", "content"),
    [("6/#10 CAN", 6, None), ("4/1 GAL", 4, 3.785), ("12/32 OZ", 12, 0.907), ("12 x 1 pint flat", 12, 0.473)],
)
def test_inner_count_packs(pack: str, count: int, content: float | None) -> None:
    read = parse_pack(pack, "case")
    assert read.count == count
    assert (round(read.content, 3) if read.content else None) == content


@pytest.mark.parametrize(("pack", "unit"), [("per lb", "lb"), ("kg", "kg"), ("per kg (approx. 5-6 kg)", "kg")])
def test_loose_packs_are_sold_per_measure(pack: str, unit: str) -> None:
    assert parse_pack(pack, unit).per_measure == unit
