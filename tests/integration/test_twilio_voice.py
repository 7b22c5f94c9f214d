"""Voicemail: the call is answered with a recording prompt, and Twilio's transcription enters the same
pipeline as a text (channel `voicemail`, recording URL kept)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from tests import factories
from tests.integration.twilio_support import BASE, TwilioApp, build, load_form

pytestmark = pytest.mark.postgres


@pytest.fixture
def twilio_app(pg_engine: Engine, committed_pg: sessionmaker[Session]) -> TwilioApp:
    return build(pg_engine, committed_pg)


def test_call_is_answered_with_a_prompt_and_a_transcribed_recording(twilio_app: TwilioApp) -> None:
    supplier = factories.SupplierFactory(locale="fr-FR")

    response = twilio_app.post("/twilio/voice", load_form("voice_incoming", To=supplier.inbound_phone))

    assert response.status_code == 200
    root = ET.fromstring(response.get_data())
    say, record = list(root)
    assert (say.tag, say.get("language")) == ("Say", "fr-FR")
    assert record.tag == "Record"
    assert record.get("transcribe") == "true"
    assert record.get("transcribeCallback") == f"{BASE}/twilio/transcription"
    assert twilio_app.count_messages() == 0


def test_finished_recording_posted_back_ends_the_call(twilio_app: TwilioApp) -> None:
    response = twilio_app.post("/twilio/voice", load_form("voice_recorded"))

    root = ET.fromstring(response.get_data())
    assert [child.tag for child in root] == ["Say", "Hangup"]


def test_transcription_is_stored_as_a_voicemail_and_queued(twilio_app: TwilioApp) -> None:
    supplier = factories.SupplierFactory()
    chef = factories.ContactFactory()
    factories.AccountFactory(restaurant=chef.restaurant, supplier=supplier)

    response = twilio_app.post(
        "/twilio/transcription", load_form("transcription_completed", From=chef.phone, To=supplier.inbound_phone)
    )

    assert response.status_code == 200
    [message] = twilio_app.messages()
    assert (message.channel, message.status, message.contact_id) == ("voicemail", "received", chef.id)
    assert message.body.startswith("Hi it's the chef, can I get four cases of lemons")
    assert message.meta["recording_url"].endswith("/Recordings/RE3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c")
    assert message.provider_id == "RE3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c"
    assert twilio_app.queue.enqueued == [("process_message", (message.id,))]


def test_failed_transcription_keeps_the_recording_for_a_person(twilio_app: TwilioApp) -> None:
    supplier = factories.SupplierFactory()
    chef = factories.ContactFactory()
    factories.AccountFactory(restaurant=chef.restaurant, supplier=supplier)

    twilio_app.post(
        "/twilio/transcription", load_form("transcription_failed", From=chef.phone, To=supplier.inbound_phone)
    )

    [message] = twilio_app.messages()
    assert message.status == "needs_attention"
    assert "recording" in (message.error or "")
    assert message.meta["recording_url"]
    assert twilio_app.queue.enqueued == []


def test_redelivered_transcription_creates_nothing_new(twilio_app: TwilioApp) -> None:
    supplier = factories.SupplierFactory()
    chef = factories.ContactFactory()
    factories.AccountFactory(restaurant=chef.restaurant, supplier=supplier)
    form = load_form("transcription_completed", From=chef.phone, To=supplier.inbound_phone)

    twilio_app.post("/twilio/transcription", form)
    twilio_app.post("/twilio/transcription", form)

    assert twilio_app.count_messages() == 1


def test_unsigned_voice_webhook_is_refused(twilio_app: TwilioApp) -> None:
    response = twilio_app.client.post("/twilio/voice", data=dict(load_form("voice_incoming")))

    assert response.status_code == 403
