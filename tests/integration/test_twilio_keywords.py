"""STOP / START / HELP and their pt/fr/it/es equivalents, as carriers and Twilio's Advanced Opt-Out expect."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from chat2order.tables import Contact
from tests import factories
from tests.integration.twilio_support import TwilioApp, build, load_form

pytestmark = pytest.mark.postgres


@pytest.fixture
def twilio_app(pg_engine: Engine, committed_pg: sessionmaker[Session]) -> TwilioApp:
    return build(pg_engine, committed_pg)


def _chef(**contact: object) -> tuple[Contact, object]:
    supplier = factories.SupplierFactory(locale="pt-PT", name="Frutas do Vale")
    chef = factories.ContactFactory(**contact)
    factories.AccountFactory(restaurant=chef.restaurant, supplier=supplier)
    return chef, supplier


def _opted_out(app: TwilioApp, contact_id: int) -> bool:
    with app.maker() as session:
        return bool(session.scalar(select(Contact.sms_opted_out).where(Contact.id == contact_id)))


def test_stop_opts_the_contact_out_without_an_answer_of_ours(twilio_app: TwilioApp) -> None:
    chef, supplier = _chef()

    response = twilio_app.post("/twilio/sms", load_form("sms_keyword_stop", From=chef.phone, To=supplier.inbound_phone))

    assert response.status_code == 200
    assert _opted_out(twilio_app, chef.id)
    [message] = twilio_app.messages()
    assert message.status == "opted_out"
    assert twilio_app.outbox() == []  # Twilio's Advanced Opt-Out confirms STOP itself
    assert twilio_app.queue.enqueued == []


def test_local_stop_word_parar_opts_out_too(twilio_app: TwilioApp) -> None:
    chef, supplier = _chef()

    twilio_app.post("/twilio/sms", load_form("sms_keyword_parar", From=chef.phone, To=supplier.inbound_phone))

    assert _opted_out(twilio_app, chef.id)
    assert twilio_app.outbox() == []


def test_stop_inside_a_longer_message_is_an_order_not_an_opt_out(twilio_app: TwilioApp) -> None:
    chef, supplier = _chef()

    twilio_app.post(
        "/twilio/sms",
        load_form("sms_order", From=chef.phone, To=supplier.inbound_phone, Body="stop the lemons, 2 cases limes instead"),
    )

    assert not _opted_out(twilio_app, chef.id)
    assert [m.status for m in twilio_app.messages()] == ["received"]


def test_start_opts_back_in_and_twilio_answers_it(twilio_app: TwilioApp) -> None:
    chef, supplier = _chef(sms_opted_out=True)

    twilio_app.post("/twilio/sms", load_form("sms_keyword_start", From=chef.phone, To=supplier.inbound_phone))

    assert not _opted_out(twilio_app, chef.id)
    assert [m.status for m in twilio_app.messages()] == ["opted_in"]
    assert twilio_app.outbox() == []


def test_local_start_word_opts_back_in_and_we_confirm_in_their_language(twilio_app: TwilioApp) -> None:
    chef, supplier = _chef(sms_opted_out=True, locale="pt-PT")

    twilio_app.post("/twilio/sms", load_form("sms_keyword_sim", From=chef.phone, To=supplier.inbound_phone))

    assert not _opted_out(twilio_app, chef.id)
    [answer] = twilio_app.outbox()
    assert (answer.recipient, answer.purpose) == (chef.phone, "keyword_start")
    assert "Frutas do Vale" in answer.body


def test_yes_from_a_subscribed_chef_is_an_answer_to_process_not_an_opt_in(twilio_app: TwilioApp) -> None:
    chef, supplier = _chef()

    twilio_app.post(
        "/twilio/sms", load_form("sms_keyword_start", From=chef.phone, To=supplier.inbound_phone, Body="Yes")
    )

    [message] = twilio_app.messages()
    assert message.status == "received"
    assert twilio_app.queue.enqueued == [("process_message", (message.id,))]


def test_help_on_sms_is_left_to_twilio(twilio_app: TwilioApp) -> None:
    chef, supplier = _chef()

    twilio_app.post("/twilio/sms", load_form("sms_keyword_help", From=chef.phone, To=supplier.inbound_phone))

    assert [m.status for m in twilio_app.messages()] == ["help_requested"]
    assert twilio_app.outbox() == []


def test_local_help_word_is_answered_by_us(twilio_app: TwilioApp) -> None:
    chef, supplier = _chef()

    twilio_app.post("/twilio/sms", load_form("sms_keyword_ajuda", From=chef.phone, To=supplier.inbound_phone))

    [answer] = twilio_app.outbox()
    assert (answer.channel, answer.purpose) == ("sms", "keyword_help")
    assert "STOP" in answer.body
    assert twilio_app.queue.enqueued == [("deliver", (answer.id,))]


def test_help_on_whatsapp_is_answered_by_us_because_twilio_does_not(twilio_app: TwilioApp) -> None:
    chef, supplier = _chef()

    twilio_app.post(
        "/twilio/sms",
        load_form(
            "sms_keyword_help", From=f"whatsapp:{chef.phone}", To=f"whatsapp:{supplier.inbound_phone}"
        ),
    )

    [answer] = twilio_app.outbox()
    assert (answer.channel, answer.recipient) == ("whatsapp", chef.phone)


def test_order_from_an_opted_out_chef_is_held_not_confirmed_by_text(twilio_app: TwilioApp) -> None:
    chef, supplier = _chef(sms_opted_out=True)

    twilio_app.post("/twilio/sms", load_form("sms_order", From=chef.phone, To=supplier.inbound_phone))

    [message] = twilio_app.messages()
    assert message.status == "needs_attention"
    assert "STOP" in (message.error or "")
    assert twilio_app.queue.enqueued == []
    assert twilio_app.outbox() == []


def test_unknown_number_that_sent_stop_gets_no_unknown_sender_answer(twilio_app: TwilioApp) -> None:
    supplier = factories.SupplierFactory()

    twilio_app.post("/twilio/sms", load_form("sms_keyword_stop", To=supplier.inbound_phone))
    twilio_app.post("/twilio/sms", load_form("sms_order", To=supplier.inbound_phone))

    assert [m.status for m in twilio_app.messages()] == ["opted_out", "unknown_sender"]
    assert twilio_app.outbox() == []
