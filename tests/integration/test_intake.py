"""The intake service on its own: routing by address, statuses that stop processing, idempotency on
PostgreSQL and on the embedded SQLite database, and queueing only after commit."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from chat2order.config import Settings
from chat2order.errors import InvalidInput
from chat2order.jobs import RecordingQueue
from chat2order.ordering.intake import Incoming, receive, requeue_received
from chat2order.runtime import Runtime
from chat2order.tables import InboundMessage, OutboundMessage
from tests import factories


@pytest.fixture
def rt(pg_engine, committed_pg) -> Runtime:
    settings = Settings(mail_domains=("orders.example.com",))
    return Runtime(settings, engine=pg_engine, sessionmaker=committed_pg, queue=RecordingQueue())


def _email(sender: str, recipient: str, **kw: object) -> Incoming:
    values: dict[str, object] = {
        "channel": "email",
        "provider_id": f"<{sender}.{recipient}@mail.example.org>",
        "sender": sender,
        "recipient": recipient,
        "body": "2 cases lemons for friday",
        "raw": "From: ...",
        "subject": "order",
        **kw,
    }
    return Incoming(**values)  # type: ignore[arg-type]


def _stored(rt: Runtime, message_id: int) -> InboundMessage:
    with rt.sessionmaker() as session:
        message = session.get(InboundMessage, message_id)
        assert message is not None
        return message


@pytest.mark.postgres
def test_email_to_orders_plus_slug_reaches_that_supplier(rt: Runtime) -> None:
    supplier = factories.SupplierFactory(slug="green-valley", inbound_email=None)
    chef = factories.ContactFactory(email="Chef.Ana@Bistro.example")

    result = receive(rt, _email("chef.ana@bistro.example", "orders+green-valley@orders.example.com"))

    assert (result.created, result.status) == (True, "received")
    assert (result.supplier_id, result.contact_id, result.restaurant_id) == (supplier.id, chef.id, chef.restaurant_id)
    assert rt.queue.enqueued == [("process_message", (result.message_id,))]  # type: ignore[attr-defined]


@pytest.mark.postgres
def test_email_to_plus_address_of_a_foreign_domain_is_not_routed(rt: Runtime) -> None:
    factories.SupplierFactory(slug="green-valley")
    factories.ContactFactory(email="chef@bistro.example")

    result = receive(rt, _email("chef@bistro.example", "orders+green-valley@elsewhere.example"))

    assert result.supplier_id is None
    assert result.status == "needs_attention"


@pytest.mark.postgres
def test_email_to_a_suppliers_inbound_address_matches_case_insensitively(rt: Runtime) -> None:
    supplier = factories.SupplierFactory(inbound_email="orders@greenvalley.example")
    factories.ContactFactory(email="chef@bistro.example")

    result = receive(rt, _email("chef@bistro.example", "Orders@GreenValley.example"))

    assert result.supplier_id == supplier.id


@pytest.mark.postgres
def test_auto_reply_is_stored_but_neither_processed_nor_answered(rt: Runtime) -> None:
    supplier = factories.SupplierFactory()

    result = receive(rt, _email("robot@bistro.example", supplier.inbound_email, meta={"auto_reply": True}))

    assert result.status == "ignored_auto_reply"
    assert rt.queue.enqueued == []  # type: ignore[attr-defined]
    with rt.sessionmaker() as session:
        assert session.scalars(select(OutboundMessage)).all() == []


@pytest.mark.postgres
def test_channel_hold_reason_parks_the_message_for_review(rt: Runtime) -> None:
    supplier = factories.SupplierFactory()
    factories.ContactFactory(email="chef@bistro.example")

    result = receive(rt, _email("chef@bistro.example", supplier.inbound_email, meta={"hold_reason": "DMARC fail"}))

    assert result.status == "needs_attention"
    assert _stored(rt, result.message_id).error == "DMARC fail"
    assert rt.queue.enqueued == []  # type: ignore[attr-defined]


@pytest.mark.postgres
def test_unknown_email_sender_is_answered_once_by_email(rt: Runtime) -> None:
    supplier = factories.SupplierFactory(locale="en-GB")

    receive(rt, _email("stranger@nowhere.example", supplier.inbound_email, provider_id="<a@x>"))
    receive(rt, _email("stranger@nowhere.example", supplier.inbound_email, provider_id="<b@x>"))

    with rt.sessionmaker() as session:
        [answer] = session.scalars(select(OutboundMessage)).all()
    assert (answer.channel, answer.recipient, answer.purpose) == ("email", "stranger@nowhere.example", "unknown_sender")
    assert answer.subject == "Re: order"


@pytest.mark.postgres
def test_chat_hints_identify_contact_and_supplier(rt: Runtime) -> None:
    supplier = factories.SupplierFactory()
    chef = factories.ContactFactory()

    result = receive(
        rt,
        Incoming(
            channel="chat", provider_id="client-1", sender="", recipient=None, body="2 cases lemons",
            raw="{}", contact_id=chef.id, supplier_id=supplier.id,
        ),
    )

    assert (result.status, result.contact_id, result.supplier_id) == ("received", chef.id, supplier.id)


@pytest.mark.postgres
def test_duplicate_returns_the_stored_message_and_queues_nothing(rt: Runtime) -> None:
    supplier = factories.SupplierFactory()
    factories.ContactFactory(email="chef@bistro.example")
    incoming = _email("chef@bistro.example", supplier.inbound_email)

    first = receive(rt, incoming)
    second = receive(rt, incoming)

    assert (first.created, second.created) == (True, False)
    assert second.message_id == first.message_id
    assert len(rt.queue.enqueued) == 1  # type: ignore[attr-defined]


@pytest.mark.postgres
def test_queue_outage_still_stores_the_message_and_recovery_requeues_it(rt: Runtime) -> None:
    class DownQueue:
        def enqueue(self, job_name: str, *ids: int) -> None:
            raise ConnectionError("redis is down")

    supplier = factories.SupplierFactory()
    factories.ContactFactory(email="chef@bistro.example")
    down = Runtime(rt.settings, engine=rt.engine, sessionmaker=rt.sessionmaker, queue=DownQueue())  # type: ignore[arg-type]

    result = receive(down, _email("chef@bistro.example", supplier.inbound_email))

    assert _stored(rt, result.message_id).status == "received"
    assert requeue_received(rt) == 1
    assert rt.queue.enqueued == [("process_message", (result.message_id,))]  # type: ignore[attr-defined]


@pytest.mark.postgres
def test_requeue_leaves_recent_messages_to_the_queue_they_are_in(rt: Runtime) -> None:
    factories.InboundMessageFactory(status="received", received_at=dt.datetime.now(dt.UTC))

    assert requeue_received(rt, older_than=dt.timedelta(minutes=5)) == 0


def test_unknown_channel_is_refused() -> None:
    rt = Runtime(Settings(), queue=RecordingQueue())

    with pytest.raises(InvalidInput):
        receive(rt, Incoming(channel="fax", provider_id="1", sender="+12125550100", recipient=None, body="", raw=""))


def test_embedded_sqlite_insert_is_idempotent(sqlite_engine, sqlite_sessionmaker) -> None:
    rt = Runtime(Settings(), engine=sqlite_engine, sessionmaker=sqlite_sessionmaker, queue=RecordingQueue())
    supplier = factories.SupplierFactory()
    chef = factories.ContactFactory()
    incoming = Incoming(
        channel="sms", provider_id="SMsqlite1", sender=chef.phone, recipient=supplier.inbound_phone,
        body="2 cases lemons", raw="Body=2+cases+lemons",
    )

    first = receive(rt, incoming)
    second = receive(rt, incoming)

    assert (first.created, second.created, first.status) == (True, False, "received")
    assert first.message_id == second.message_id
    assert (first.contact_id, first.supplier_id) == (chef.id, supplier.id)
