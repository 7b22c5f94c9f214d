"""Inbound SMS and WhatsApp through the real webhook: stored once, routed, queued after commit."""

from __future__ import annotations

import threading
from urllib.parse import urlencode

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from chat2order.channels.twilio import sign
from tests import factories
from tests.integration.twilio_support import BASE, TOKEN, TwilioApp, build, load_form

pytestmark = pytest.mark.postgres


@pytest.fixture
def twilio_app(pg_engine: Engine, committed_pg: sessionmaker[Session]) -> TwilioApp:
    return build(pg_engine, committed_pg)


def _chef_and_supplier(**contact: object) -> tuple[object, object]:
    supplier = factories.SupplierFactory(locale="en-US")
    chef = factories.ContactFactory(**contact)
    factories.AccountFactory(restaurant=chef.restaurant, supplier=supplier)
    return chef, supplier


def test_sms_from_known_chef_is_stored_routed_and_queued(twilio_app: TwilioApp) -> None:
    chef, supplier = _chef_and_supplier()

    twilio_app.post("/twilio/sms", load_form("sms_order", From=chef.phone, To=supplier.inbound_phone))

    [message] = twilio_app.messages()
    assert (message.channel, message.status) == ("sms", "received")
    assert (message.contact_id, message.restaurant_id, message.supplier_id) == (
        chef.id, chef.restaurant_id, supplier.id,
    )
    assert message.provider_id == "SM0a1b2c3d4e5f60718293a4b5c6d7e8f9"
    assert message.body.startswith("2 cases roma tomatoes\n")
    assert "MessageSid=SM0a1b2c3d4e5f60718293a4b5c6d7e8f9" in message.raw
    assert twilio_app.queue.enqueued == [("process_message", (message.id,))]


def test_duplicate_twilio_webhook_creates_one_message(twilio_app: TwilioApp) -> None:
    chef, supplier = _chef_and_supplier()
    form = load_form("sms_order", From=chef.phone, To=supplier.inbound_phone)

    first = twilio_app.post("/twilio/sms", form)
    second = twilio_app.post("/twilio/sms", form)

    assert (first.status_code, second.status_code) == (200, 200)
    assert first.get_data() == second.get_data()
    assert twilio_app.count_messages() == 1
    assert len(twilio_app.queue.enqueued) == 1


def test_same_signed_request_posted_concurrently_stores_one_row(twilio_app: TwilioApp) -> None:
    chef, supplier = _chef_and_supplier()
    form = load_form("sms_order", From=chef.phone, To=supplier.inbound_phone)
    body = urlencode(form)
    headers = {"X-Twilio-Signature": sign(BASE + "/twilio/sms", form, TOKEN)}
    barrier = threading.Barrier(8)
    statuses: list[int] = []

    def post() -> None:
        client = twilio_app.app.test_client()
        barrier.wait()
        response = client.post(
            "/twilio/sms", data=body, content_type="application/x-www-form-urlencoded", headers=headers
        )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=post) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert statuses == [200] * 8
    assert twilio_app.count_messages() == 1
    assert len(twilio_app.queue.enqueued) == 1


def test_whatsapp_sender_is_matched_to_contact_without_prefix(twilio_app: TwilioApp) -> None:
    chef, supplier = _chef_and_supplier(phone="+351912345678")

    twilio_app.post(
        "/twilio/sms", load_form("whatsapp_order", To=f"whatsapp:{supplier.inbound_phone}")
    )

    [message] = twilio_app.messages()
    assert message.channel == "whatsapp"
    assert message.sender == "whatsapp:+351912345678"
    assert (message.contact_id, message.supplier_id, message.status) == (chef.id, supplier.id, "received")
    assert message.meta["profile_name"] == "Chef Ana"


def test_mms_media_urls_are_kept_and_the_message_flagged_for_a_person(twilio_app: TwilioApp) -> None:
    chef, supplier = _chef_and_supplier()

    twilio_app.post("/twilio/sms", load_form("mms_photo", From=chef.phone, To=supplier.inbound_phone))

    [message] = twilio_app.messages()
    assert message.status == "needs_attention"
    assert [m["content_type"] for m in message.meta["media"]] == ["image/jpeg", "image/jpeg"]
    assert message.meta["media"][1]["url"].endswith("/Media/ME02")
    assert twilio_app.queue.enqueued == []


def test_unknown_sender_is_kept_and_answered_once_in_the_suppliers_language(twilio_app: TwilioApp) -> None:
    supplier = factories.SupplierFactory(locale="en-US", name="Green Valley Produce")

    twilio_app.post("/twilio/sms", load_form("sms_order", To=supplier.inbound_phone))
    twilio_app.post(
        "/twilio/sms", load_form("sms_order", To=supplier.inbound_phone, MessageSid="SMsecond00000000000000000000000001")
    )

    messages = twilio_app.messages()
    assert [m.status for m in messages] == ["unknown_sender", "unknown_sender"]
    assert messages[0].supplier_id == supplier.id
    [answer] = twilio_app.outbox()
    assert (answer.channel, answer.recipient, answer.purpose) == ("sms", "+12125550199", "unknown_sender")
    assert "Green Valley Produce" in answer.body
    assert ("process_message", (messages[0].id,)) not in twilio_app.queue.enqueued
    assert twilio_app.queue.enqueued == [("deliver", (answer.id,))]


def test_shared_number_routes_to_the_supplier_named_in_the_text(twilio_app: TwilioApp) -> None:
    chef = factories.ContactFactory()
    factories.AccountFactory(restaurant=chef.restaurant, supplier=factories.SupplierFactory(name="Harbor Fish Co"))
    produce = factories.SupplierFactory(name="Green Valley Produce")
    factories.AccountFactory(restaurant=chef.restaurant, supplier=produce)

    twilio_app.post(
        "/twilio/sms",
        load_form("sms_order", From=chef.phone, To="+12125550111", Body="green valley: 2 cases lemons please"),
    )

    [message] = twilio_app.messages()
    assert (message.supplier_id, message.status) == (produce.id, "received")


def test_shared_number_without_a_named_supplier_needs_attention(twilio_app: TwilioApp) -> None:
    chef = factories.ContactFactory()
    factories.AccountFactory(restaurant=chef.restaurant, supplier=factories.SupplierFactory(name="Harbor Fish Co"))
    factories.AccountFactory(restaurant=chef.restaurant, supplier=factories.SupplierFactory(name="Green Valley Produce"))

    twilio_app.post("/twilio/sms", load_form("sms_order", From=chef.phone, To="+12125550111"))

    [message] = twilio_app.messages()
    assert (message.supplier_id, message.status) == (None, "needs_attention")
    assert twilio_app.queue.enqueued == []


def test_shared_number_goes_to_the_restaurants_only_supplier(twilio_app: TwilioApp) -> None:
    chef, supplier = _chef_and_supplier()

    twilio_app.post("/twilio/sms", load_form("sms_order", From=chef.phone, To="+12125550111"))

    [message] = twilio_app.messages()
    assert (message.supplier_id, message.status) == (supplier.id, "received")


def test_oversized_webhook_body_gets_413_and_nothing_stored(pg_engine, committed_pg) -> None:
    app = build(pg_engine, committed_pg, max_content_length=4096)
    chef, supplier = _chef_and_supplier()

    response = app.post("/twilio/sms", load_form("sms_order", From=chef.phone, To=supplier.inbound_phone, Body="x" * 5000))

    assert response.status_code == 413
    assert response.get_json()["error"] == "request_entity_too_large"
    assert app.count_messages() == 0


def test_database_down_answers_503_so_twilio_uses_its_fallback_url(committed_pg) -> None:
    from chat2order.db import make_engine, session_factory

    dead = make_engine("postgresql://postgres@127.0.0.1:1/nowhere", pool_pre_ping=False)
    app = build(dead, session_factory(dead))

    response = app.post("/twilio/sms", load_form("sms_order"))

    assert response.status_code == 503
    assert response.headers["Retry-After"]
    dead.dispose()


def test_webhook_without_message_sid_is_a_bad_request(twilio_app: TwilioApp) -> None:
    form = [(k, v) for k, v in load_form("sms_order") if k not in ("MessageSid", "SmsSid", "SmsMessageSid")]

    response = twilio_app.post("/twilio/sms", form)

    assert response.status_code == 400
    assert twilio_app.count_messages() == 0
