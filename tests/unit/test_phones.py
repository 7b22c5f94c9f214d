"""Phone numbers normalised to E.164, and the carrier keywords recognised in a whole message only."""

from __future__ import annotations

import pytest

from chat2order.ordering.optout import match
from chat2order.phones import is_whatsapp, region_of, strip_scheme, to_e164


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+1 (212) 555-0100", "US", "+12125550100"),
        ("whatsapp:+351912345678", "US", "+351912345678"),
        ("WhatsApp:+351 912 345 678", None, "+351912345678"),
        ("tel:+33612345678", "US", "+33612345678"),
        ("06 12 34 56 78", "FR", "+33612345678"),
        ("912 345 678", "PT", "+351912345678"),
        ("(212) 555-0100", "US", "+12125550100"),
    ],
)
def test_numbers_are_normalised_to_e164(raw: str, region: str | None, expected: str) -> None:
    assert to_e164(raw, region) == expected


@pytest.mark.parametrize("raw", ["", "chef@bistro.example", "call me", "12", "+1 212"])
def test_things_that_are_not_phone_numbers_give_none(raw: str) -> None:
    assert to_e164(raw) is None


def test_whatsapp_prefix_is_recognised_and_stripped() -> None:
    assert is_whatsapp("whatsapp:+14155550100")
    assert not is_whatsapp("+14155550100")
    assert strip_scheme(" whatsapp:+14155550100 ") == "+14155550100"


def test_region_comes_from_the_locale() -> None:
    assert (region_of("pt-PT"), region_of("fr_FR"), region_of("en"), region_of(None)) == ("PT", "FR", "US", "US")


@pytest.mark.parametrize(
    ("body", "kind", "standard"),
    [
        ("STOP", "stop", True),
        ("  stop. ", "stop", True),
        ("Unsubscribe", "stop", True),
        ("Arrêt", "stop", False),
        ("PARAR", "stop", False),
        ("start", "start", True),
        ("Sí", "start", False),
        ("help", "help", True),
        ("Aiuto!", "help", False),
    ],
)
def test_whole_message_keywords_are_recognised(body: str, kind: str, standard: bool) -> None:
    keyword = match(body)
    assert keyword is not None
    assert (keyword.kind, keyword.standard) == (kind, standard)


@pytest.mark.parametrize("body", ["stop sending lemons", "please help with my order", "", "cancelar pedido", "Cancelar"])
def test_keywords_inside_sentences_or_order_words_are_not_keywords(body: str) -> None:
    assert match(body) is None
