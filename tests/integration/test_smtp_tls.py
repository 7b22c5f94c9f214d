"""STARTTLS on our inbound SMTP server: offered with a certificate, optional or required, recorded per message."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from chat2order.channels.email_auth import StaticResolver
from chat2order.channels.smtp import start_smtp
from chat2order.config import Settings
from chat2order.errors import InvalidInput
from chat2order.jobs import RecordingQueue
from chat2order.runtime import Runtime
from chat2order.tables import InboundMessage
from tests.factories import SupplierFactory
from tests.helpers.smtp_server import running_smtp

pytestmark = pytest.mark.postgres

DOMAIN = "chat2order.local"


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def cert_files(ca: trustme.CA, tmp_path: Path) -> tuple[str, str]:
    issued = ca.issue_cert("127.0.0.1", "localhost")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    issued.cert_chain_pems[0].write_to_path(str(cert))
    issued.private_key_pem.write_to_path(str(key))
    return str(cert), str(key)


def _runtime(pg_engine: Any, maker: sessionmaker[Session], **settings: Any) -> Runtime:
    return Runtime(Settings(mail_domains=(DOMAIN,), **settings), engine=pg_engine, sessionmaker=maker,
                   queue=RecordingQueue())


@pytest.fixture
def supplier_address(committed_pg: sessionmaker[Session]) -> str:
    SupplierFactory(slug="tlsgreens")
    return f"orders+tlsgreens@{DOMAIN}"


def _mail(rcpt: str, message_id: str) -> bytes:
    return (
        f"From: chef@example.org\r\nTo: {rcpt}\r\nSubject: order\r\nMessage-ID: <{message_id}@example.org>\r\n"
        "\r\n2 cases roma tomatoes\r\n"
    ).encode()


def _client_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


def _stored(maker: sessionmaker[Session], message_id: str) -> InboundMessage:
    with maker() as session:
        return session.scalars(select(InboundMessage).where(InboundMessage.provider_id.startswith(message_id))).one()


@pytest.fixture
def tls_server(pg_engine: Any, committed_pg: sessionmaker[Session], cert_files: tuple[str, str]) -> Iterator[Any]:
    cert, key = cert_files
    runtime = _runtime(pg_engine, committed_pg, smtp_tls_cert=cert, smtp_tls_key=key)
    with running_smtp(runtime, auth_mode="record", resolver=StaticResolver()) as controller:
        yield controller


def test_mail_sent_after_starttls_is_stored_with_its_tls_version_and_cipher(
    tls_server: Any, ca: trustme.CA, committed_pg: sessionmaker[Session], supplier_address: str
) -> None:
    with smtplib.SMTP("127.0.0.1", tls_server.port, timeout=30) as client:
        client.ehlo("mx.example.org")
        assert client.has_extn("starttls")
        client.starttls(context=_client_context(ca))
        client.sendmail("chef@example.org", [supplier_address], _mail(supplier_address, "tls-1"))

    tls = _stored(committed_pg, "tls-1").meta["tls"]
    assert tls["version"] in ("TLSv1.2", "TLSv1.3")
    assert tls["cipher"]


def test_plain_mail_is_still_accepted_when_tls_is_only_offered(
    tls_server: Any, committed_pg: sessionmaker[Session], supplier_address: str
) -> None:
    with smtplib.SMTP("127.0.0.1", tls_server.port, timeout=30) as client:
        client.sendmail("chef@example.org", [supplier_address], _mail(supplier_address, "plain-1"))

    assert "tls" not in _stored(committed_pg, "plain-1").meta


def test_required_tls_refuses_mail_before_starttls_and_takes_it_after(
    pg_engine: Any, committed_pg: sessionmaker[Session], cert_files: tuple[str, str], ca: trustme.CA,
    supplier_address: str,
) -> None:
    cert, key = cert_files
    runtime = _runtime(pg_engine, committed_pg, smtp_tls_cert=cert, smtp_tls_key=key, smtp_require_tls=True)
    with running_smtp(runtime, auth_mode="record", resolver=StaticResolver()) as server:
        with smtplib.SMTP("127.0.0.1", server.port, timeout=30) as client:
            client.ehlo("mx.example.org")
            code, reply = client.mail("chef@example.org")
            assert code == 530, reply
        with smtplib.SMTP("127.0.0.1", server.port, timeout=30) as client:
            client.starttls(context=_client_context(ca))
            client.sendmail("chef@example.org", [supplier_address], _mail(supplier_address, "req-1"))

    assert _stored(committed_pg, "req-1").meta["tls"]["cipher"]


def test_no_starttls_is_advertised_without_a_certificate(
    pg_engine: Any, committed_pg: sessionmaker[Session]
) -> None:
    with (
        running_smtp(_runtime(pg_engine, committed_pg), auth_mode="off") as server,
        smtplib.SMTP("127.0.0.1", server.port, timeout=30) as client,
    ):
        client.ehlo("mx.example.org")
        assert not client.has_extn("starttls")


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"smtp_tls_cert": "/nonexistent/cert.pem"}, "cannot load the SMTP TLS certificate"),
        ({"smtp_require_tls": True}, "SMTP_REQUIRE_TLS needs a certificate"),
    ],
)
def test_a_broken_tls_configuration_stops_the_server_from_starting(
    pg_engine: Any, committed_pg: sessionmaker[Session], settings: dict[str, Any], message: str
) -> None:
    runtime = _runtime(pg_engine, committed_pg, **settings)
    with pytest.raises(InvalidInput, match=message):
        start_smtp(runtime.settings, runtime, listen="127.0.0.1:0", auth_mode="off")


def test_tls_settings_come_from_the_environment() -> None:
    settings = Settings.from_env({"SMTP_TLS_CERT": "/etc/c2o/cert.pem", "SMTP_TLS_KEY": "/etc/c2o/key.pem",
                                  "SMTP_REQUIRE_TLS": "true"})
    assert (settings.smtp_tls_cert, settings.smtp_tls_key, settings.smtp_require_tls) == (
        "/etc/c2o/cert.pem", "/etc/c2o/key.pem", True)
    assert Settings.from_env({}).smtp_require_tls is False
