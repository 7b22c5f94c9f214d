"""Clean-up of message bodies: quoted history, signatures, "Sent from", greetings, repeat requests."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chat2order.parsing.cleanup import clean

NEW_ORDER = "For Friday:\n3 cs lemons\n2 bags onions"
OLD_ORDER = "7 cs limes\n9 kg ginger"


@pytest.mark.parametrize(
    "header",
    [
        "On Mon, Nov 9, 2026 at 8:12 PM Ana Reyes <ana@example.com> wrote:",
        "On Nov 9, 2026, at 8:12 PM, Ana Reyes <ana@example.com> wrote:",
        "Em seg., 9 de nov. de 2026 às 20:12, Ana Reis <ana@example.pt> escreveu:",
        "Le lun. 9 nov. 2026 à 20:12, Anne Roux <anne@example.fr> a écrit :",
        "Il giorno lun 9 nov 2026 alle ore 20:12 Anna Rossi <anna@example.it> ha scritto:",
        "El lun, 9 nov 2026 a las 20:12, Ana Ruiz (<ana@example.es>) escribió:",
    ],
)
def test_reply_header_in_each_language_removes_the_quoted_order(header: str) -> None:
    body = f"{NEW_ORDER}\n\nThanks\n\n{header}\n> {OLD_ORDER.replace(chr(10), chr(10) + '> ')}"
    cleaned = clean(body, "email", "en-US")
    assert "limes" not in cleaned.text and "ginger" not in cleaned.text
    assert "3 cs lemons" in cleaned.text and "2 bags onions" in cleaned.text
    assert "limes" in cleaned.quoted
    assert cleaned.included_quote is False


def test_gmail_header_wrapped_over_two_lines_is_still_a_quote() -> None:
    body = (
        f"{NEW_ORDER}\n\nOn Mon, Nov 9, 2026 at 8:12 PM Ana Reyes <\nana@example.com> wrote:\n> {OLD_ORDER}"
    )
    cleaned = clean(body, "email")
    assert "limes" not in cleaned.text
    assert "ana@example.com" not in cleaned.text


@pytest.mark.parametrize(
    "block",
    [
        "-----Original Message-----\nFrom: Ana\nSent: Monday\n",
        "________________________________\nFrom: Ana Reyes <ana@example.com>\nSent: 09 November 2026 20:12\nTo: Orders\n",
        "De : Anne Roux\nEnvoyé : lundi 9 novembre 2026 20:12\nÀ : Commandes\n",
        "De: Ana Reis\nEnviado: segunda-feira, 9 de novembro de 2026 20:12\nPara: Encomendas\n",
        "Da: Anna Rossi\nInviato: lunedì 9 novembre 2026 20:12\nA: Ordini\n",
        "De: Ana Ruiz\nEnviado el: lunes, 9 de noviembre de 2026 20:12\nPara: Pedidos\n",
        "-----Mensaje original-----\nDe: Ana\n",
        "-----Message d'origine-----\nDe : Anne\n",
    ],
)
def test_outlook_style_quote_blocks_are_removed(block: str) -> None:
    cleaned = clean(f"{NEW_ORDER}\n\n{block}\n{OLD_ORDER}", "email")
    assert "limes" not in cleaned.text
    assert "3 cs lemons" in cleaned.text


@pytest.mark.parametrize(
    "marker",
    [
        "---------- Forwarded message ---------",
        "---------- Mensagem encaminhada ---------",
        "---------- Message transféré ---------",
        "---------- Messaggio inoltrato ---------",
        "---------- Mensaje reenviado ---------",
        "Begin forwarded message:",
    ],
)
def test_forwarded_message_is_quoted_when_not_asked_for(marker: str) -> None:
    cleaned = clean(
        f"FYI, for your records.\n\n{marker}\nFrom: Events <e@example.com>\n\n{OLD_ORDER}", "email"
    )
    assert "limes" not in cleaned.text
    assert cleaned.included_quote is False


def test_reply_written_below_the_quote_keeps_the_new_text() -> None:
    body = f"On Mon, Nov 9, 2026 at 8:12 PM Ana <a@x.com> wrote:\n> 7 cs limes\n> 9 kg ginger\n\n{NEW_ORDER}\n\nThanks,\nAna"
    cleaned = clean(body, "email")
    assert cleaned.text == NEW_ORDER
    assert "7 cs limes" in cleaned.quoted


def test_prefixed_lines_without_header_are_quoted() -> None:
    cleaned = clean(f"{NEW_ORDER}\n> 7 cs limes\n> 9 kg ginger", "email")
    assert "limes" not in cleaned.text
    assert "7 cs limes" in cleaned.quoted


@pytest.mark.parametrize(
    ("new_text", "locale"),
    [
        ("Same as below but 2 cs lemons more please", "en-US"),
        ("Please repeat the order below for Thursday", "en-GB"),
        ("Can you add these to Friday's delivery?", "en-GB"),
        ("Repete a encomenda abaixo para sexta, por favor", "pt-PT"),
        ("Pouvez-vous répéter la commande ci-dessous pour jeudi ?", "fr-FR"),
        ("Ripeti l'ordine qui sotto per giovedì, grazie", "it-IT"),
        ("Repite el pedido de abajo para el jueves", "es-ES"),
        ("Añade estos al pedido del viernes", "es-ES"),
    ],
)
def test_quoted_order_is_kept_when_the_new_text_asks_to_repeat_or_add_it(new_text: str, locale: str) -> None:
    body = f"{new_text}\n\nOn Mon, Nov 9, 2026 at 8:12 PM Ana <ana@example.com> wrote:\n> Hi Joe,\n> {OLD_ORDER}\n> Thanks\n> Ana"
    cleaned = clean(body, "email", locale)
    assert cleaned.included_quote is True
    assert "7 cs limes" in cleaned.text
    assert cleaned.text.index(new_text[:10]) < cleaned.text.index("7 cs limes")
    assert "Hi Joe" not in cleaned.text and "wrote:" not in cleaned.text


def test_reference_to_an_order_below_is_not_a_repeat_request() -> None:
    body = f"Normal stuff for tomorrow, on top of the big order below:\n2 cs lemons\n\nOn Mon, Nov 9, 2026 at 8:12 PM Ana <a@x.com> wrote:\n> {OLD_ORDER}"
    cleaned = clean(body, "email")
    assert cleaned.included_quote is False
    assert "limes" not in cleaned.text


def test_forwarded_list_is_kept_without_its_header_fields_when_asked_to_add() -> None:
    body = (
        "See below from our events team - can you add these to Saturday please?\n\n"
        "---------- Forwarded message ---------\nFrom: Events <e@example.com>\nDate: Sat, 7 Nov 2026 at 10:00\n"
        "Subject: Party\nTo: Chef <c@example.com>\n\nHi chef,\n\n- 20 quail\n- 3 kg chanterelles\n\nThanks!\nEve"
    )
    cleaned = clean(body, "email", "en-GB")
    assert cleaned.included_quote is True
    assert "20 quail" in cleaned.text and "3 kg chanterelles" in cleaned.text
    assert "Date:" not in cleaned.text and "10:00" not in cleaned.text


@pytest.mark.parametrize(
    ("body", "locale"),
    [
        (
            "2 cs lemons\n\nThanks,\nJo Lee\nHead Chef | Blue Door\n41 Market Street, Brooklyn NY 11201\n(718) 555-0100",
            "en-US",
        ),
        (
            "4kg mince\n\nCheers,\nSam\n\nSam Hart\nKitchen Manager, The Crown\n12 High Road, London E8 1AA\n020 7946 0999",
            "en-GB",
        ),
        (
            "3 cx limão\n\nObrigado,\nRui Costa\nCozinha - Tasca do Rio\nRua do Ouro 120, Lisboa\n+351 913 000 111",
            "pt-PT",
        ),
        (
            "3 colis de citrons\n\nMerci,\nLéa Martin\nChef – Bistrot Léa\n18 rue de Lévis, 75017 Paris\n01 45 00 00 00",
            "fr-FR",
        ),
        (
            "3 casse di limoni\n\nGrazie,\nMarco Neri\nOsteria Neri\nVia Roma 22, Milano\n02 1234 5678",
            "it-IT",
        ),
        (
            "3 cajas de limones\n\nGracias,\nPepa Gil\nCocina - Casa Pepa\nC/ Mayor 45, Madrid\n915 000 000",
            "es-ES",
        ),
        ("2 cs lemons\n\nBests,\nKim\n\nKim Park\n212-555-0100", "en-US"),
    ],
)
def test_signature_after_sign_off_is_removed_with_its_address_and_phone(body: str, locale: str) -> None:
    cleaned = clean(body, "email", locale)
    first_line = body.split("\n")[0]
    assert cleaned.text == first_line


def test_signature_after_dash_dash_separator_is_removed() -> None:
    cleaned = clean("2 cs lemons\n1 bag onions\n\n-- \nJo Lee\n41 Market Street\n718-555-0100", "email")
    assert cleaned.text == "2 cs lemons\n1 bag onions"


def test_signature_block_without_sign_off_is_removed() -> None:
    cleaned = clean("Monday:\n2 cs lemons\n\nJo Lee\nBlue Door Diner\n718-555-0100", "email")
    assert cleaned.text == "Monday:\n2 cs lemons"


@pytest.mark.parametrize(
    "line",
    [
        "Sent from my iPhone",
        "Enviado do meu iPhone",
        "Envoyé de mon iPhone",
        "Inviato da iPhone",
        "Enviado desde mi iPhone",
        "Get Outlook for iOS",
    ],
)
def test_sent_from_my_phone_lines_are_removed(line: str) -> None:
    assert clean(f"2 cs lemons\n\n{line}", "email").text == "2 cs lemons"


@pytest.mark.parametrize(
    "greeting",
    [
        "Hi Dean,",
        "Hello there!",
        "Bonsoir Karim,",
        "Bom dia!",
        "Boa noite Sr. Carlos,",
        "Ciao Davide,",
        "Buongiorno,",
        "Hola Paco,",
        "Buenas noches!",
        "Joe,",
    ],
)
def test_salutation_line_is_removed(greeting: str) -> None:
    assert clean(f"{greeting}\n\n2 cs lemons", "email").text == "2 cs lemons"


@pytest.mark.parametrize(
    ("sms", "expected"),
    [
        ("Bonsoir Karim, 3 kg de poireaux. Merci ! Léa", "3 kg de poireaux."),
        ("Evening Sam, 4kg mince, 2 black puddings. Cheers", "4kg mince, 2 black puddings."),
        ("Ciao Marco, 2 casse di zucchine. Grazie! Gino", "2 casse di zucchine."),
        ("Hola, 2 kg de ajo para el lunes. Gracias", "2 kg de ajo para el lunes."),
        ("Olá! 2 molhos de salsa p/ sexta. Obrigado, Rui", "2 molhos de salsa p/ sexta."),
    ],
)
def test_one_line_message_loses_inline_greeting_and_sign_off(sms: str, expected: str) -> None:
    assert clean(sms, "sms").text == expected


def test_words_that_start_like_a_sign_off_are_kept() -> None:
    text = "3 kg de reinettes pour les tartes"
    assert clean(text, "sms", "fr-FR").text == text
    assert clean("1 cs pumpkins for thanksgiving", "sms").text == "1 cs pumpkins for thanksgiving"


def test_order_lines_are_never_cut_after_a_thank_you_in_the_middle() -> None:
    body = "Hi Ray,\n\nThanks for yesterday.\n2 cs lemons\n1 bag onions\n\nThanks,\nMaya"
    cleaned = clean(body, "email")
    assert "2 cs lemons" in cleaned.text and "1 bag onions" in cleaned.text


def test_postscript_after_sign_off_is_kept() -> None:
    cleaned = clean("2 cs lemons\n\nThanks,\nMaya\n\nPS: add 1 cs limes", "email")
    assert "PS: add 1 cs limes" in cleaned.text


def test_plain_sms_is_returned_unchanged() -> None:
    text = "2cs roma, 5kg onions, 1 box lemons pls for tmrw"
    assert clean(text, "sms") == clean(text, "sms")
    assert clean(text, "sms").text == text
    assert clean(text, "sms").quoted == ""


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_any_text_cleans_without_error(text: str) -> None:
    cleaned = clean(text, "email", "pt-PT")
    assert isinstance(cleaned.text, str) and isinstance(cleaned.quoted, str)
