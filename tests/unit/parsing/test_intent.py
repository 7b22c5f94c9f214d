"""Intent of cleaned messages: order (new, add, repeat, replacement) versus other, in five languages."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chat2order.parsing.intent import classify


@pytest.mark.parametrize(
    ("text", "locale"),
    [
        ("3 cs romaine, 2 bags red onions", "en-US"),
        ("can you add a case of kale to thursday", "en-US"),
        ("the usual pls", "en-US"),
        ("same as last week but no carrots", "en-US"),
        ("usual + 2 flats raspberries", "en-US"),
        ("forgot 1 bag of shallots", "en-US"),
        ("4kg chicken thighs and 2 racks of pork for sat", "en-GB"),
        ("any chance of 3 extra bags of mussels tomorrow?", "en-GB"),
        ("o costume, obrigado", "pt-PT"),
        ("para sexta: 3 cx de laranja e 2 molhos de coentros", "pt-PT"),
        ("tem figos? se houver, 2 kg para sábado", "pt-PT"),
        ("le standard + 2 kg de poireaux", "fr-FR"),
        ("pour jeudi, il nous faut 3 colis de tomates", "fr-FR"),
        ("avez-vous des coings ? si oui 3 kg pour vendredi", "fr-FR"),
        ("il solito pls", "it-IT"),
        ("per sabato 4 casse di arance e mezzo kg di basilico", "it-IT"),
        ("lo de siempre, gracias", "es-ES"),
        ("para el martes 2 cajas de tomate y medio kilo de ajo", "es-ES"),
        ("¿tenéis chirimoyas? ponme 3 kg si hay", "es-ES"),
        ("luis 3 cajas de limones y 2 costales de cebolla", "es-MX"),
    ],
)
def test_orders_in_each_language_are_orders(text: str, locale: str) -> None:
    assert classify(text, locale).intent == "order"


@pytest.mark.parametrize(
    ("text", "locale"),
    [
        ("the lettuce yesterday was brown, send 2 cs to replace it please", "en-US"),
        ("got navel oranges instead of juice oranges, can you swap them thursday", "en-US"),
        ("a alface de ontem vinha estragada, mande 2 cx novas na segunda", "pt-PT"),
        ("il manque 1 colis de citrons sur la livraison, tu peux l'amener lundi ?", "fr-FR"),
        ("2 latte di pelati ammaccate, me le cambi martedì?", "it-IT"),
        ("un saco de arroz roto, ¿me lo reponéis el jueves?", "es-ES"),
    ],
)
def test_complaint_asking_for_a_replacement_delivery_is_an_order(text: str, locale: str) -> None:
    assert classify(text, locale).intent == "order"


@pytest.mark.parametrize(
    ("text", "locale"),
    [
        ("thanks for the quick delivery today!", "en-US"),
        ("what's the price on the heirloom tomatoes this week?", "en-US"),
        ("do you carry yuzu?", "en-US"),
        ("invoice 44120 charged us for 4 cs lemons but we only got 3", "en-US"),
        ("6 eggs were broken in the case, can we get a credit?", "en-US"),
        ("the driver was late again, we need deliveries before 9", "en-GB"),
        ("could we get a price on geese for christmas? we'd need about 6", "en-GB"),
        ("obrigada, estava tudo ótimo!", "pt-PT"),
        ("a fatura 2026/551 tem 2 cx a mais. podem corrigir?", "pt-PT"),
        ("merci pour les girolles, magnifiques", "fr-FR"),
        ("pouvez-vous m'envoyer la facture d'octobre ?", "fr-FR"),
        ("les poireaux étaient abîmés, merci de faire un avoir", "fr-FR"),
        ("quanto costa la burrata questa settimana?", "it-IT"),
        ("la fattura 881 ha 2 casse in più, potete emettere una nota di credito?", "it-IT"),
        ("gracias por todo!", "es-ES"),
        ("¿a qué hora llegáis mañana? abrimos a las 12", "es-ES"),
        ("a partir de la semana que viene entregad entre las 8 y las 10", "es-ES"),
    ],
)
def test_thanks_questions_complaints_and_admin_are_other(text: str, locale: str) -> None:
    assert classify(text, locale).intent == "other"


@pytest.mark.parametrize(
    ("text", "locale"),
    [
        ("I am out of the office until Monday with limited access to email.", "en-GB"),
        ("Estou fora do escritório até segunda-feira. Para encomendas ligue 912 000 000.", "pt-PT"),
        ("Je suis absente du bureau jusqu'au 16 novembre.", "fr-FR"),
        (
            "Sono fuori ufficio fino a lunedì 16 novembre. Per ordini urgenti chiamate il 347 000 0000.",
            "it-IT",
        ),
        ("Estoy fuera de la oficina hasta el lunes.", "es-ES"),
    ],
)
def test_out_of_office_auto_replies_are_other(text: str, locale: str) -> None:
    assert classify(text, locale).intent == "other"


@pytest.mark.parametrize(
    ("text", "locale"),
    [
        ("2 cs lemons for friday... actually never mind", "en-US"),
        ("3 kg de abóbora para quinta. Esquece", "pt-PT"),
        ("2 kg de potimarron pour jeudi... laisse tomber", "fr-FR"),
        ("3 kg di zucca per giovedì. Lascia perdere", "it-IT"),
        ("para el jueves 3 kg de calabaza... no espera, eso es la semana que viene. Olvídalo", "es-ES"),
    ],
)
def test_message_that_withdraws_itself_is_other(text: str, locale: str) -> None:
    assert classify(text, locale).intent == "other"


def test_a_line_for_the_other_supplier_inside_an_order_keeps_it_an_order() -> None:
    text = "para el viernes:\n- 4 cajas de tomate\n- 2 sacos de patata\n- 5 kg de gambas (no, eso es del otro proveedor)"
    assert classify(text, "es-ES").intent == "order"


def test_times_prices_and_invoice_numbers_are_not_quantities() -> None:
    assert classify("where's our truck? it's 9:40 and we open at 11", "en-US").intent == "other"
    assert classify("last invoice had them at $41.50, seems high", "en-US").intent == "other"


def test_confidence_is_higher_for_clear_cases_than_for_mixed_ones() -> None:
    clear = classify("for friday: 2 cs lemons, 3 bags onions, 1 cs limes", "en-US")
    mixed = classify("can I get 1 case of squash? and how much is the kabocha", "en-US")
    assert clear.intent == mixed.intent == "order"
    assert 0.5 <= mixed.confidence < clear.confidence <= 0.99


def test_reason_names_the_deciding_cues() -> None:
    guess = classify("invoice 44120 is wrong, please send a credit note", "en-US")
    assert "credit" in guess.reason


def test_empty_text_is_other() -> None:
    assert classify("", "en-US").intent == "other"
    assert classify("   \n ", "fr-FR").intent == "other"


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_any_text_classifies_without_error(text: str) -> None:
    guess = classify(text, "it-IT")
    assert guess.intent in {"order", "other"}
    assert 0.5 <= guess.confidence <= 0.99
