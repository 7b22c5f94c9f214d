"""Replies to a confirmation, in the five languages: confirm, cancel, answer, remove, change, add."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from chat2order.parsing.model import ParseContext
from chat2order.parsing.replies import ReplyLine, parse_reply

RECEIVED = dt.datetime(2026, 11, 25, 21, 30, tzinfo=dt.UTC)


def ctx(locale: str = "en-US") -> ParseContext:
    return ParseContext(index=None, locale=locale, received_at=RECEIVED, channel="sms")


# An order as the chef wrote it, per language: onions (priced), lemons (priced), tomatoes (a question).
ORDERS = {
    "en": ("5kg onions", "1 box lemons", "2 cs tomatoes"),
    "pt": ("5kg cebola", "1 cx limão", "2 cx tomate"),
    "fr": ("5kg oignons", "1 colis citrons", "2 colis tomates"),
    "it": ("5kg cipolle", "1 cassa limoni", "2 casse pomodori"),
    "es": ("5kg cebollas", "1 caja limones", "2 cajas tomates"),
}


def lines(lang: str = "en") -> list[ReplyLine]:
    onions, lemons, tomatoes = ORDERS[lang]
    return [
        ReplyLine(0, onions, "ONION YELLOW JUMBO 50#", "ONI-50", Decimal(5), "kg"),
        ReplyLine(1, lemons, "LEMONS 115 CT", "LEM-115", Decimal(1), "case"),
        ReplyLine(
            2, tomatoes, "", None, Decimal(2), "case",
            options=((1, "TOM-ROMA", "TOMATO ROMA 5X6"), (2, "TOM-CHERRY", "TOMATO CHERRY 10 LB FLAT")),
        ),
    ]


@pytest.mark.parametrize(
    "text",
    ["yes", "Yes please!", "ok", "OK thanks", "👍", "sim", "Sim, obrigado", "oui", "Oui merci", "sì", "Si grazie",
     "sí", "dale", "vale", "Vale, gracias", "confirmed", "d'accord", "va bene", "perfecto"],
)
def test_confirmation_words_confirm(text: str) -> None:
    reply = parse_reply(text, lines(), ctx())
    assert reply.kind == "confirm"


@pytest.mark.parametrize(
    ("text", "lang"),
    [("cancel", "en"), ("Cancel the order", "en"), ("cancela", "pt"), ("cancela a encomenda", "pt"),
     ("annule", "fr"), ("Annule la commande", "fr"), ("annulla", "it"), ("annulla l'ordine", "it"),
     ("cancela el pedido", "es"), ("Cancelar", "es")],
)
def test_cancel_words_cancel_the_whole_order(text: str, lang: str) -> None:
    assert parse_reply(text, lines(lang), ctx()).kind == "cancel"


@pytest.mark.parametrize(
    ("text", "lang"),
    [("cancel lemons", "en"), ("remove the lemons", "en"), ("sem limão", "pt"), ("cancela o limão", "pt"),
     ("sans les citrons", "fr"), ("annule les citrons", "fr"), ("togli i limoni", "it"),
     ("annulla i limoni", "it"), ("quita los limones", "es"), ("cancela los limones", "es")],
)
def test_cancel_or_remove_with_a_product_removes_that_line(text: str, lang: str) -> None:
    reply = parse_reply(text, lines(lang), ctx())
    assert reply.kind == "edit"
    assert [(e.action, e.position) for e in reply.edits] == [("remove", 1)]


@pytest.mark.parametrize(("text", "sku"), [("1", "TOM-ROMA"), ("2", "TOM-CHERRY"), (" 2. ", "TOM-CHERRY")])
def test_option_number_answers_the_question(text: str, sku: str) -> None:
    reply = parse_reply(text, lines(), ctx())
    assert [(e.action, e.position, e.sku) for e in reply.edits] == [("choose", 2, sku)]


@pytest.mark.parametrize(("text", "sku"), [("roma", "TOM-ROMA"), ("Roma please", "TOM-ROMA"), ("cherry", "TOM-CHERRY")])
def test_product_word_of_one_option_answers_the_question(text: str, sku: str) -> None:
    reply = parse_reply(text, lines(), ctx())
    assert [(e.action, e.sku) for e in reply.edits] == [("choose", sku)]


def test_answer_and_yes_in_one_reply_chooses_and_confirms() -> None:
    reply = parse_reply("1, yes", lines(), ctx())
    assert reply.kind == "edit" and reply.confirm
    assert reply.edits[0].sku == "TOM-ROMA"


@pytest.mark.parametrize(
    ("text", "lang"),
    [("make the onions 10kg", "en"), ("onions to 10 kg", "en"), ("muda a cebola para 10kg", "pt"),
     ("mets les oignons à 10 kg", "fr"), ("fai le cipolle 10kg", "it"), ("cambia las cebollas a 10kg", "es")],
)
def test_change_sets_the_quantity_of_the_matching_line(text: str, lang: str) -> None:
    reply = parse_reply(text, lines(lang), ctx())
    assert [(e.action, e.position, e.quantity, e.unit) for e in reply.edits] == [("set", 0, Decimal(10), "kg")]


def test_a_list_of_product_quantity_lines_is_a_new_order_not_edits() -> None:
    reply = parse_reply("onions 10kg\nlemons 2 cs\nlimes 1 cs", lines(), ctx())
    assert reply.kind == "unknown"


def test_decimal_comma_is_a_quantity_not_a_clause_break() -> None:
    reply = parse_reply("muda a cebola para 1,5 kg", lines("pt"), ctx("pt-PT"))
    assert [(e.action, e.quantity, e.unit) for e in reply.edits] == [("set", Decimal("1.5"), "kg")]


@pytest.mark.parametrize(
    ("text", "lang"),
    [("add 2 cs limes", "en"), ("acrescenta 2 cx lima", "pt"), ("ajoute 2 colis de citrons verts", "fr"),
     ("aggiungi 2 casse di lime", "it"), ("añade 2 cajas de limas", "es")],
)
def test_add_reads_the_new_items_with_the_order_parser(text: str, lang: str) -> None:
    reply = parse_reply(text, lines(lang), ctx(f"{lang}-XX"))
    assert reply.kind == "edit"
    (edit,) = reply.edits
    assert edit.action == "add"
    assert [(line.quantity, line.unit) for line in edit.lines] == [(Decimal(2), "case")]


def test_add_takes_the_following_items_of_a_list() -> None:
    reply = parse_reply("add 2 cs limes\n1 bag shallots", lines(), ctx())
    (edit,) = reply.edits
    assert len(edit.lines) == 2


@pytest.mark.parametrize("text", ["what time do you deliver?", "no", "", "???"])
def test_other_text_is_not_understood(text: str) -> None:
    assert parse_reply(text, lines(), ctx()).kind == "unknown"


def test_number_without_a_question_is_not_an_answer() -> None:
    without_question = lines()[:2]
    assert parse_reply("1", without_question, ctx()).kind == "unknown"


def test_product_word_matching_two_lines_equally_is_not_guessed() -> None:
    two_onions = [
        ReplyLine(0, "5kg red onions", "ONION RED 25#", "ONI-R", Decimal(5), "kg"),
        ReplyLine(1, "5kg white onions", "ONION WHITE 25#", "ONI-W", Decimal(5), "kg"),
    ]
    assert parse_reply("make the onions 10kg", two_onions, ctx()).kind == "unknown"


# RECEIVED is Wednesday 25 November 2026 in the evening.
@pytest.mark.parametrize(
    "text, lang, day",
    [
        ("make it friday", "en", dt.date(2026, 11, 27)),
        ("can you deliver saturday instead", "en", dt.date(2026, 11, 28)),
        ("entrega na sexta, por favor", "pt", dt.date(2026, 11, 27)),
        ("plutôt samedi", "fr", dt.date(2026, 11, 28)),
        ("meglio venerdì", "it", dt.date(2026, 11, 27)),
        ("mejor para el sábado", "es", dt.date(2026, 11, 28)),
        ("for the 3rd of December", "en", dt.date(2026, 12, 3)),
    ],
)
def test_a_day_alone_changes_the_delivery_day(text: str, lang: str, day: dt.date) -> None:
    locale = {"en": "en-US", "pt": "pt-PT", "fr": "fr-FR", "it": "it-IT", "es": "es-ES"}[lang]
    reply = parse_reply(text, lines(lang), ctx(locale))
    assert (reply.kind, [(e.action, e.delivery_date) for e in reply.edits]) == ("edit", [("date", day)])
    assert not reply.confirm


def test_a_quantity_change_for_another_day_changes_both() -> None:
    reply = parse_reply("onions 10kg for friday", lines(), ctx())
    assert [(e.action, e.position, e.quantity, e.delivery_date) for e in reply.edits] == [
        ("set", 0, Decimal(10), None), ("date", None, None, dt.date(2026, 11, 27)),
    ]


def test_yes_with_a_day_confirms_for_that_day() -> None:
    reply = parse_reply("ok for friday", lines(), ctx())
    assert reply.confirm and [e.action for e in reply.edits] == ["date"]


def test_a_question_about_a_day_changes_nothing() -> None:
    assert parse_reply("do you deliver on sunday?", lines(), ctx()).kind == "unknown"
