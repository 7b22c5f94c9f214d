"""Real SMTP conversations (smtplib) with our aiosmtpd server, stored in the real PostgreSQL test database."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from chat2order.channels.email_auth import StaticResolver
from chat2order.config import Settings
from chat2order.db import make_engine
from chat2order.jobs import RecordingQueue
from chat2order.ordering import intake
from chat2order.runtime import Runtime
from chat2order.tables import InboundMessage, OutboundMessage
from tests.factories import ContactFactory, SupplierFactory
from tests.helpers.smtp_server import eml, expected_text, running_smtp, send

pytestmark = pytest.mark.postgres

DOMAIN = "chat2order.local"
DEV_EML = ["d0076", "d0079", "d0092", "d0109", "d0110", "d0150", "d0165", "d0265", "d0306", "d0332", "d0375"]
SCENARIO_EML = ["html_only", "latin1_mislabelled", "base64", "attachment_csv"]


@pytest.fixture
def settings() -> Settings:
    return Settings(mail_domains=(DOMAIN,), smtp_listen="127.0.0.1:0")


@pytest.fixture
def runtime(settings: Settings, pg_engine: Any, committed_pg: sessionmaker[Session]) -> Runtime:
    return Runtime(settings, engine=pg_engine, sessionmaker=committed_pg, queue=RecordingQueue())


@pytest.fixture
def server(runtime: Runtime) -> Iterator[Any]:
    # "record": these tests are about storage and routing; holding unverified mail has its own tests.
    with running_smtp(runtime, auth_mode="record", resolver=StaticResolver()) as controller:
        yield controller


def _messages(maker: sessionmaker[Session]) -> list[InboundMessage]:
    with maker() as session:
        return list(session.scalars(select(InboundMessage).order_by(InboundMessage.id)))


@pytest.mark.parametrize("name", DEV_EML + SCENARIO_EML)
def test_replayed_eml_is_stored_with_its_decoded_text(
    name: str, server: Any, committed_pg: sessionmaker[Session]
) -> None:
    supplier = SupplierFactory(slug="greenleaf")
    send(server.port, eml(name), mail_from="chef@example.org", rcpt_tos=[f"orders+greenleaf@{DOMAIN}"])
    [message] = _messages(committed_pg)
    assert message.channel == "email"
    assert message.body == expected_text(name)
    assert message.supplier_id == supplier.id


def test_stored_message_keeps_subject_sender_raw_and_message_id(
    server: Any, committed_pg: sessionmaker[Session]
) -> None:
    SupplierFactory(slug="halles")
    raw = eml("d0150")
    send(server.port, raw, mail_from="camille@maison-ondine.fr", rcpt_tos=[f"orders+halles@{DOMAIN}"])
    [message] = _messages(committed_pg)
    assert message.subject == "Menu truffe – précommande 4 décembre"
    assert message.sender == "camille@maison-ondine.fr"
    assert message.raw.encode("utf-8") == raw
    assert message.meta["message_id"] == "1126128F-39AE-2A90-BC61-A709F4C587EB@maison-ondine.fr"
    assert message.provider_id.startswith(message.meta["message_id"])


def test_mail_from_a_known_contact_is_queued_for_processing_after_commit(
    server: Any, runtime: Runtime, committed_pg: sessionmaker[Session]
) -> None:
    SupplierFactory(slug="horto")
    contact = ContactFactory(email="ines@bistroluz.pt")
    send(server.port, eml("d0076"), mail_from="ines@bistroluz.pt", rcpt_tos=[f"orders+horto@{DOMAIN}"])
    [message] = _messages(committed_pg)
    assert message.contact_id == contact.id
    assert message.status == intake.RECEIVED
    assert runtime.queue.ids("process_message") == [message.id]  # type: ignore[attr-defined]


def test_recipient_outside_our_domains_is_refused_at_rcpt(
    server: Any, committed_pg: sessionmaker[Session]
) -> None:
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        send(server.port, eml("d0092"), mail_from="nick@example.org", rcpt_tos=["orders@greenleafproduce.com"])
    code, text = refused.value.recipients["orders@greenleafproduce.com"]
    assert code == 550
    assert DOMAIN.encode() in text
    assert _messages(committed_pg) == []


def test_supplier_inbound_address_routes_the_order(server: Any, committed_pg: sessionmaker[Session]) -> None:
    supplier = SupplierFactory(inbound_email=f"greenleaf-orders@{DOMAIN}")
    send(server.port, eml("d0079"), mail_from="maya@example.org", rcpt_tos=[f"Greenleaf-Orders@{DOMAIN}"])
    [message] = _messages(committed_pg)
    assert message.supplier_id == supplier.id


def test_supplier_inbound_address_stored_as_local_part_routes_the_order(
    server: Any, committed_pg: sessionmaker[Session]
) -> None:
    supplier = SupplierFactory(inbound_email="thames")
    send(server.port, eml("d0165"), mail_from="priya@example.org", rcpt_tos=[f"thames@{DOMAIN}"])
    [message] = _messages(committed_pg)
    assert message.supplier_id == supplier.id


def test_duplicate_message_id_creates_one_message(server: Any, committed_pg: sessionmaker[Session]) -> None:
    SupplierFactory(slug="sol")
    for _ in range(2):
        send(server.port, eml("d0109"), mail_from="vicent@example.org", rcpt_tos=[f"orders+sol@{DOMAIN}"])
    assert len(_messages(committed_pg)) == 1


def test_message_without_message_id_is_deduplicated_on_its_bytes(
    server: Any, committed_pg: sessionmaker[Session]
) -> None:
    raw = b"From: chef@example.org\r\nTo: orders+x@chat2order.local\r\nSubject: hi\r\n\r\n2 cs roma\r\n"
    for _ in range(2):
        send(server.port, raw, mail_from="chef@example.org", rcpt_tos=[f"orders+x@{DOMAIN}"])
    [message] = _messages(committed_pg)
    assert message.provider_id.startswith("sha256:")


def test_one_mail_to_two_suppliers_is_stored_once_for_each(
    server: Any, committed_pg: sessionmaker[Session]
) -> None:
    first, second = SupplierFactory(slug="greenleaf"), SupplierFactory(slug="thames")
    send(server.port, eml("d0092"), mail_from="nick@example.org",
         rcpt_tos=[f"orders+greenleaf@{DOMAIN}", f"orders+thames@{DOMAIN}"])
    assert sorted(m.supplier_id for m in _messages(committed_pg)) == sorted([first.id, second.id])


def test_out_of_office_reply_is_stored_and_never_answered(
    server: Any, runtime: Runtime, committed_pg: sessionmaker[Session]
) -> None:
    SupplierFactory(slug="orto")
    ContactFactory(email="salvatore@pizzeriavesuvio.it")
    send(server.port, eml("d0193"), mail_from="salvatore@pizzeriavesuvio.it", rcpt_tos=[f"orders+orto@{DOMAIN}"])
    [message] = _messages(committed_pg)
    assert message.status == intake.IGNORED_AUTO_REPLY
    assert message.meta["auto_reply"] is True
    assert runtime.queue.enqueued == []  # type: ignore[attr-defined]


def test_bounce_from_null_sender_is_stored_and_never_answered(
    server: Any, runtime: Runtime, committed_pg: sessionmaker[Session]
) -> None:
    SupplierFactory(slug="greenleaf")
    send(server.port, eml("bounce"), mail_from="", rcpt_tos=[f"orders+greenleaf@{DOMAIN}"])
    [message] = _messages(committed_pg)
    assert message.status == intake.IGNORED_AUTO_REPLY
    assert runtime.queue.enqueued == []  # type: ignore[attr-defined]
    with committed_pg() as session:
        assert session.scalar(select(func.count()).select_from(OutboundMessage)) == 0


def test_auto_reply_from_unknown_sender_gets_no_polite_answer(
    server: Any, committed_pg: sessionmaker[Session]
) -> None:
    SupplierFactory(slug="horto")
    send(server.port, eml("auto_reply"), mail_from="ines@bistroluz.example", rcpt_tos=[f"orders+horto@{DOMAIN}"])
    [message] = _messages(committed_pg)
    assert message.status == intake.IGNORED_AUTO_REPLY
    with committed_pg() as session:
        assert session.scalar(select(func.count()).select_from(OutboundMessage)) == 0


def test_csv_order_form_attachment_becomes_order_lines_and_metadata(
    server: Any, committed_pg: sessionmaker[Session]
) -> None:
    SupplierFactory(slug="greenleaf")
    send(server.port, eml("attachment_csv"), mail_from="nick@example.org", rcpt_tos=[f"orders+greenleaf@{DOMAIN}"])
    [message] = _messages(committed_pg)
    assert message.body.splitlines()[:2] == ["Tomato roma 25# 2 case", "Basil 3 bunch"]
    [attachment] = message.meta["attachments"]
    assert (attachment["filename"], attachment["content_type"], attachment["order_lines"]) == ("order.csv", "text/csv", 2)


def test_database_down_answers_451_and_the_retry_stores_one_message(
    settings: Settings, runtime: Runtime, committed_pg: sessionmaker[Session], unused_tcp_port: int
) -> None:
    SupplierFactory(slug="greenleaf")
    down_engine = make_engine(f"postgresql+psycopg://postgres@127.0.0.1:{unused_tcp_port}/nowhere")
    down = Runtime(settings, engine=down_engine, sessionmaker=sessionmaker(down_engine), queue=RecordingQueue())
    with running_smtp(down, auth_mode="off") as controller, pytest.raises(smtplib.SMTPDataError) as failed:
        send(controller.port, eml("d0079"), mail_from="maya@example.org", rcpt_tos=[f"orders+greenleaf@{DOMAIN}"])
    assert failed.value.smtp_code == 451
    with running_smtp(runtime, auth_mode="off") as controller:
        for _ in range(2):  # the sending server retries, perhaps once more than needed
            send(controller.port, eml("d0079"), mail_from="maya@example.org", rcpt_tos=[f"orders+greenleaf@{DOMAIN}"])
    assert len(_messages(committed_pg)) == 1


def test_failure_after_commit_answers_451_and_the_retry_creates_nothing_new(
    runtime: Runtime, committed_pg: sessionmaker[Session]
) -> None:
    SupplierFactory(slug="greenleaf")
    calls: list[bool] = []

    def receive_then_fail(rt: Runtime, incoming: intake.Incoming) -> intake.Received:
        result = intake.receive(rt, incoming)
        calls.append(result.created)
        if len(calls) == 1:
            raise ConnectionError("connection lost after commit")
        return result

    with running_smtp(runtime, auth_mode="off", receive=receive_then_fail) as controller:
        with pytest.raises(smtplib.SMTPDataError):
            send(controller.port, eml("d0306"), mail_from="kenji@example.org", rcpt_tos=[f"orders+greenleaf@{DOMAIN}"])
        send(controller.port, eml("d0306"), mail_from="kenji@example.org", rcpt_tos=[f"orders+greenleaf@{DOMAIN}"])
    assert calls == [True, False]
    assert len(_messages(committed_pg)) == 1


@pytest.fixture
def unused_tcp_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_same_mail_delivered_on_two_connections_at_once_is_stored_once(
    server: Any, committed_pg: sessionmaker[Session]
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    SupplierFactory(slug="greenleaf")
    raw = eml("d0332")
    with ThreadPoolExecutor(max_workers=4) as pool:
        replies = list(pool.map(
            lambda _: send(server.port, raw, mail_from="chef@example.org", rcpt_tos=[f"orders+greenleaf@{DOMAIN}"]),
            range(4),
        ))
    assert replies == [{}] * 4  # every delivery answered 250
    assert len(_messages(committed_pg)) == 1
