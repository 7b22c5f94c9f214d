"""SPF, DKIM and DMARC over real SMTP with stub DNS; forged mail from a known restaurant is held."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from chat2order.channels.email_auth import StaticResolver
from chat2order.config import Settings
from chat2order.jobs import RecordingQueue
from chat2order.ordering import intake
from chat2order.runtime import Runtime
from chat2order.tables import InboundMessage
from tests.factories import ContactFactory, SupplierFactory
from tests.helpers.smtp_server import running_smtp, send

pytestmark = pytest.mark.postgres

DOMAIN = "chat2order.local"
RCPT = f"orders+greenleaf@{DOMAIN}"
CHEF = "maya@littlefig.example"
SELECTOR = b"mail2026"


@pytest.fixture(scope="module")
def key_pair() -> tuple[bytes, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # small: fast, only for the test
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, base64.b64encode(public).decode()


@pytest.fixture
def resolver(key_pair: tuple[bytes, str]) -> StaticResolver:
    """littlefig.example signs with DKIM, sends from 192.0.2.0/24 only, and publishes a DMARC policy."""
    return StaticResolver({
        (f"{SELECTOR.decode()}._domainkey.littlefig.example", "TXT"): [f"v=DKIM1; k=rsa; p={key_pair[1]}"],
        ("littlefig.example", "TXT"): ["v=spf1 ip4:192.0.2.0/24 -all"],
        ("_dmarc.littlefig.example", "TXT"): ["v=DMARC1; p=reject"],
        ("kitchen.example", "TXT"): ["v=spf1 ip4:127.0.0.0/8 -all"],
    })


@pytest.fixture
def runtime(pg_engine: Any, committed_pg: sessionmaker[Session]) -> Runtime:
    return Runtime(Settings(mail_domains=(DOMAIN,)), engine=pg_engine, sessionmaker=committed_pg,
                   queue=RecordingQueue())


@pytest.fixture
def server(runtime: Runtime, resolver: StaticResolver) -> Iterator[Any]:
    with running_smtp(runtime, resolver=resolver, auth_mode="enforce") as controller:
        yield controller


def _order(sender: str = CHEF) -> bytes:
    return (
        f"From: Maya Okafor <{sender}>\r\nTo: {RCPT}\r\nSubject: order for friday\r\n"
        f"Message-ID: <{sender.partition('@')[0]}.friday@littlefig.example>\r\n\r\nHi Ray,\r\n2 cs roma\r\n1 cs lemons 115\r\n"
    ).encode()


def _signed(raw: bytes, private_key: bytes) -> bytes:
    signature = dkim.sign(raw, SELECTOR, b"littlefig.example", private_key,
                          include_headers=[b"from", b"to", b"subject", b"message-id"])
    return signature + raw


def _only_message(maker: sessionmaker[Session]) -> InboundMessage:
    with maker() as session:
        [message] = session.scalars(select(InboundMessage)).all()
        return message


def test_dkim_signed_mail_from_known_chef_passes_and_is_queued(
    server: Any, runtime: Runtime, resolver: StaticResolver, key_pair: tuple[bytes, str],
    committed_pg: sessionmaker[Session],
) -> None:
    SupplierFactory(slug="greenleaf")
    ContactFactory(email=CHEF)
    send(server.port, _signed(_order(), key_pair[0]), mail_from=CHEF, rcpt_tos=[RCPT])
    message = _only_message(committed_pg)
    auth = message.meta["auth"]
    assert (auth["dkim"], auth["dkim_domain"], auth["dmarc"], auth["verdict"]) == (
        "pass", "littlefig.example", "pass", "pass")
    assert ("mail2026._domainkey.littlefig.example", "TXT") in resolver.asked
    assert message.status == intake.RECEIVED
    assert runtime.queue.ids("process_message") == [message.id]  # type: ignore[attr-defined]


def test_spf_result_for_the_connecting_address_is_recorded(
    server: Any, committed_pg: sessionmaker[Session]
) -> None:
    send(server.port, _order("chef@kitchen.example"), mail_from="chef@kitchen.example", rcpt_tos=[RCPT])
    auth = _only_message(committed_pg).meta["auth"]
    assert (auth["spf"], auth["spf_domain"], auth["verdict"]) == ("pass", "kitchen.example", "pass")
    assert "spf=pass" in auth["authentication_results"]


def test_forged_mail_claiming_a_known_chef_is_held_for_review(
    server: Any, runtime: Runtime, committed_pg: sessionmaker[Session]
) -> None:
    SupplierFactory(slug="greenleaf")
    ContactFactory(email=CHEF)
    # Sent from 127.0.0.1, which littlefig.example's SPF excludes, with no DKIM signature.
    send(server.port, _order(), mail_from=CHEF, rcpt_tos=[RCPT])
    message = _only_message(committed_pg)
    assert (message.meta["auth"]["spf"], message.meta["auth"]["dmarc"]) == ("fail", "fail")
    assert message.status == intake.NEEDS_ATTENTION
    assert message.error is not None and "unauthenticated" in message.error
    assert runtime.queue.enqueued == []  # type: ignore[attr-defined]


def test_tampered_dkim_signed_mail_is_held(
    server: Any, key_pair: tuple[bytes, str], committed_pg: sessionmaker[Session]
) -> None:
    SupplierFactory(slug="greenleaf")
    ContactFactory(email=CHEF)
    tampered = _signed(_order(), key_pair[0]).replace(b"2 cs roma", b"20 cs roma")
    send(server.port, tampered, mail_from=CHEF, rcpt_tos=[RCPT])
    message = _only_message(committed_pg)
    assert message.meta["auth"]["dkim"] == "fail"
    assert message.status == intake.NEEDS_ATTENTION


def test_record_mode_records_results_without_holding(
    runtime: Runtime, resolver: StaticResolver, committed_pg: sessionmaker[Session]
) -> None:
    SupplierFactory(slug="greenleaf")
    ContactFactory(email=CHEF)
    with running_smtp(runtime, resolver=resolver, auth_mode="record") as controller:
        send(controller.port, _order(), mail_from=CHEF, rcpt_tos=[RCPT])
    message = _only_message(committed_pg)
    assert message.meta["auth"]["verdict"] == "fail"
    assert message.status == intake.RECEIVED
