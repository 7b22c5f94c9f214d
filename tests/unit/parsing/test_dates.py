"""Delivery dates named in order messages, relative to the local date the message arrived."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chat2order.parsing.dates import delivery_date

NY = dt.timezone(dt.timedelta(hours=-5))
PARIS = dt.timezone(dt.timedelta(hours=1))
# Tuesday 10 November 2026, 22:30 local.
TUE_EVENING = dt.datetime(2026, 11, 10, 22, 30, tzinfo=PARIS)
WED = dt.date(2026, 11, 11)
THU = dt.date(2026, 11, 12)
FRI = dt.date(2026, 11, 13)
SAT = dt.date(2026, 11, 14)
MON = dt.date(2026, 11, 16)
NEXT_TUE = dt.date(2026, 11, 17)


@pytest.mark.parametrize(
    ("text", "locale"),
    [
        ("3 cs limes for tomorrow", "en-US"),
        ("tmrw: 2 bags onions", "en-US"),
        ("need it tmr pls", "en-US"),
        ("can you do 4kg mince tomoz", "en-GB"),
        ("2 kg de cebola para amanhã", "pt-PT"),
        ("2 kg de cebola p/ amanha", "pt-BR"),
        ("pour demain : 3 kg de carottes", "fr-FR"),
        ("per domani 2 casse di zucchine", "it-IT"),
        ("para mañana 2 cajas de tomate", "es-ES"),
        ("mañana temprano 2 kg de limón", "es-MX"),
    ],
)
def test_tomorrow_words_mean_the_next_local_day(text: str, locale: str) -> None:
    assert delivery_date(text, TUE_EVENING, locale) == WED


@pytest.mark.parametrize(
    ("text", "locale"),
    [
        ("can you bring 1 case today", "en-US"),
        ("consegue entregar hoje 1 cx?", "pt-PT"),
        ("me puedes traer hoy 1 malla?", "es-ES"),
        ("pour aujourd'hui 2 kg", "fr-FR"),
        ("per oggi 2 kg", "it-IT"),
    ],
)
def test_today_words_mean_the_local_day_received(text: str, locale: str) -> None:
    assert delivery_date(text, TUE_EVENING, locale) == TUE_EVENING.date()


@pytest.mark.parametrize(
    ("text", "locale", "expected"),
    [
        ("for thursday: 2 cs lemons", "en-US", THU),
        ("Thurs pls 2 cs lemons", "en-US", THU),
        ("sat delivery 2 cs lemons", "en-US", SAT),
        ("2 cs lemons for sat", "en-US", SAT),
        ("for tues 3kg mince", "en-GB", NEXT_TUE),
        ("Friday's delivery: add 2kg clams", "en-GB", FRI),
        ("sexta: 2 cx limão", "pt-PT", FRI),
        ("p/ quinta 2 molhos de salsa", "pt-PT", THU),
        ("para segunda-feira 3 kg de batata", "pt-BR", MON),
        ("vendredi : 2 colis de tomates", "fr-FR", FRI),
        ("pour lundi 1 sac de carottes", "fr-FR", MON),
        ("venerdì: 3 kg di limoni", "it-IT", FRI),
        ("x giovedì 2 mazzi di salvia", "it-IT", THU),
        ("per venerdi 2 casse", "it-IT", FRI),
        ("para el viernes 2 cajas de tomate", "es-ES", FRI),
        ("pal jueves 3 kg de calabaza", "es-ES", THU),
        ("per a dijous 2 kg de carxofes", "es-ES", THU),
    ],
)
def test_weekday_means_the_next_such_day_in_each_language(text: str, locale: str, expected: dt.date) -> None:
    assert delivery_date(text, TUE_EVENING, locale) == expected


def test_weekday_equal_to_the_received_day_means_next_week() -> None:
    assert delivery_date("for tuesday 2 cs lemons", TUE_EVENING, "en-US") == NEXT_TUE


def test_local_date_is_used_for_a_message_sent_just_after_midnight() -> None:
    just_after_midnight = dt.datetime(2026, 11, 11, 0, 20, tzinfo=NY)  # 05:20 UTC on the 11th
    assert delivery_date("for friday: 2 cs lemons", just_after_midnight, "en-US") == FRI
    before_midnight = dt.datetime(2026, 11, 10, 23, 50, tzinfo=NY)  # already the 11th in UTC
    assert delivery_date("for tomorrow 2 cs lemons", before_midnight, "en-US") == WED


def test_tomorrow_crosses_month_and_year_ends() -> None:
    nov_30 = dt.datetime(2026, 11, 30, 21, 0, tzinfo=PARIS)
    dec_31 = dt.datetime(2026, 12, 31, 21, 0, tzinfo=PARIS)
    assert delivery_date("pour demain 2 kg", nov_30, "fr-FR") == dt.date(2026, 12, 1)
    assert delivery_date("per domani 2 kg", dec_31, "it-IT") == dt.date(2027, 1, 1)
    assert delivery_date("para el lunes 2 kg", dec_31, "es-ES") == dt.date(2027, 1, 4)


@pytest.mark.parametrize(
    ("text", "locale", "expected"),
    [
        ("order for Wednesday 11/25", "en-US", dt.date(2026, 11, 25)),
        ("for 11/25 delivery: 2 cs", "en-US", dt.date(2026, 11, 25)),
        ("para quarta 25/11: 2 cx", "pt-PT", dt.date(2026, 11, 25)),
        ("delivery on Thursday 10 December please", "en-GB", dt.date(2026, 12, 10)),
        ("for December 10th please", "en-US", dt.date(2026, 12, 10)),
        ("pour le vendredi 4 décembre", "fr-FR", dt.date(2026, 12, 4)),
        ("per il 18 dicembre, 3 kg", "it-IT", dt.date(2026, 12, 18)),
        ("para la cena del 18 de diciembre", "es-ES", dt.date(2026, 12, 18)),
        ("para terça dia 17", "pt-PT", dt.date(2026, 11, 17)),
        ("corporate lunch on Wednesday 4th", "en-GB", dt.date(2026, 12, 4)),
        ("for the 4th, 2 cs lemons", "en-US", dt.date(2026, 12, 4)),
        ("per giovedì 26 ci servono 2 sacchi", "it-IT", dt.date(2026, 11, 26)),
        ("para o dia 5 de janeiro", "pt-PT", dt.date(2027, 1, 5)),
    ],
)
def test_explicit_dates_in_each_form(text: str, locale: str, expected: dt.date) -> None:
    assert delivery_date(text, TUE_EVENING, locale) == expected


def test_numeric_date_order_follows_the_locale() -> None:
    assert delivery_date("for Thursday 12/3", TUE_EVENING, "en-US") == dt.date(2026, 12, 3)
    assert delivery_date("pour jeudi 3/12", TUE_EVENING, "fr-FR") == dt.date(2026, 12, 3)


@pytest.mark.parametrize(
    ("text", "locale"),
    [
        ("also 2 cs sweet potatoes", "en-US"),
        ("add 1 bacon pls", "en-GB"),
        ("need 2 cases for next week", "en-US"),
        ("Delivery w/c 14th December please", "en-GB"),
        ("can you put 8 turkeys down for christmas", "en-GB"),
        ("chives 1/2 lb and 2 cs lemons", "en-US"),
        ("6/#10 cans tomato x2", "en-US"),
        ("o costume mas com 3 cx de tomate", "pt-PT"),
        ("semaine du 14 décembre : 3 kg", "fr-FR"),
        ("2 kg de espinacas por la mañana", "es-ES"),
        ("gracias por traer el limón esta mañana", "es-ES"),
    ],
)
def test_no_delivery_day_named_gives_none(text: str, locale: str) -> None:
    assert delivery_date(text, TUE_EVENING, locale) is None


@pytest.mark.parametrize(
    ("text", "locale", "expected"),
    [
        ("same as last friday for tomorrow pls", "en-GB", WED),
        ("same as Saturday's order for thursday", "en-US", THU),
        ("igual a sexta passada p/ amanhã", "pt-PT", WED),
        ("pour demain comme jeudi dernier", "fr-FR", WED),
        ("per sabato come venerdì scorso", "it-IT", SAT),
        ("para el sábado igual que el viernes pasado", "es-ES", SAT),
        ("we're closed Thursday and Friday, back Saturday. For Saturday: usual", "en-US", SAT),
        ("cerramos el jueves. viernes normal", "es-ES", FRI),
        ("the iceberg monday was brown, for thursday 2 cs", "en-US", THU),
        ("6kg topside for the Sunday roast, for saturday", "en-GB", SAT),
        ("tomatoes today were green. for sat 1 cs tomatoes", "en-US", SAT),
        ("2 cs limes for thursday? no wait we're closed thursday. friday", "en-US", FRI),
        ("1 molho para quinta, digo sexta", "pt-PT", FRI),
        ("sorry to message on a Sunday - 2 lobsters for friday", "en-GB", FRI),
        ("pour mardi 2 kg. La livraison du 24 décembre est maintenue ?", "fr-FR", NEXT_TUE),
        ("Para sábado, além do que vou mandar amanhã, 2 abóboras", "pt-PT", SAT),
    ],
)
def test_history_references_closed_days_and_corrections_are_not_the_delivery_day(
    text: str, locale: str, expected: dt.date
) -> None:
    assert delivery_date(text, TUE_EVENING, locale) == expected


@pytest.mark.parametrize(
    ("text", "locale"),
    [
        ("pouvez-vous ajouter à la commande de jeudi 3 sacs de pommes de terre", "fr-FR"),
        ("para quinta 12 romãs e 2 kg de castanhas", "pt-PT"),
    ],
)
def test_number_after_a_weekday_is_a_quantity_not_a_date(text: str, locale: str) -> None:
    assert delivery_date(text, TUE_EVENING, locale) == THU


def test_guarded_abbreviations_need_a_delivery_cue() -> None:
    assert delivery_date("sun dried tomatoes 2 cs", TUE_EVENING, "en-US") is None
    assert delivery_date("fruits de mer 2 kg", TUE_EVENING, "fr-FR") is None
    assert delivery_date("para ter mais limão, 2 kg", TUE_EVENING, "pt-PT") is None


def test_past_explicit_date_is_not_a_delivery_day() -> None:
    assert delivery_date("the avocados from Friday 11/6 were unripe", TUE_EVENING, "en-US") is None


@settings(max_examples=200, deadline=None)
@given(st.text(), st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2090, 1, 1)))
def test_any_text_gives_a_date_or_none_without_error(text: str, received: dt.datetime) -> None:
    result = delivery_date(text, received, "es-ES")
    assert result is None or result >= received.date()


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from(["for friday", "pour vendredi", "para sexta", "per venerdì", "para el viernes"]),
    st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2040, 1, 1)),
)
def test_a_named_weekday_is_always_within_the_next_seven_days(text: str, day: dt.date) -> None:
    received = dt.datetime.combine(day, dt.time(22, 0))
    result = delivery_date(text, received, "en-US")
    assert result is not None and result.weekday() == 4
    assert 1 <= (result - day).days <= 7
