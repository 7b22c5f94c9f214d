"""Hostile or broken SMTP input: size, line length, command budget, MIME bombs, 8-bit junk."""

from __future__ import annotations

import os
import random
import smtplib
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from chat2order.channels.email_auth import StaticResolver
from chat2order.config import Settings
from chat2order.jobs import RecordingQueue
from chat2order.ordering import intake
from chat2order.runtime import Runtime
from chat2order.tables import InboundMessage
from tests.factories import SupplierFactory
from tests.helpers.smtp_server import raw_transaction, running_smtp, send

pytestmark = pytest.mark.postgres

DOMAIN = "chat2order.local"
RCPT = f"orders+greenleaf@{DOMAIN}"
SMALL_LIMIT = 64 * 1024


@pytest.fixture
def calls() -> list[str]:
    return []


@pytest.fixture
def runtime(pg_engine: Any, committed_pg: sessionmaker[Session]) -> Runtime:
    settings = Settings(mail_domains=(DOMAIN,), smtp_max_message_size=SMALL_LIMIT)
    return Runtime(settings, engine=pg_engine, sessionmaker=committed_pg, queue=RecordingQueue())


@pytest.fixture
def server(runtime: Runtime, calls: list[str]) -> Iterator[Any]:
    def counting_receive(rt: Runtime, incoming: intake.Incoming) -> intake.Received:
        calls.append(incoming.provider_id)
        return intake.receive(rt, incoming)

    with running_smtp(runtime, auth_mode="record", resolver=StaticResolver(), receive=counting_receive) as controller:
        yield controller


def _stored(maker: sessionmaker[Session]) -> list[InboundMessage]:
    with maker() as session:
        return list(session.scalars(select(InboundMessage)))


def _mail(body: bytes, headers: bytes = b"", subject: bytes = b"order") -> bytes:
    return (
        b"From: chef@example.org\r\nTo: " + RCPT.encode() + b"\r\nSubject: " + subject + b"\r\n"
        b"Message-ID: <" + os.urandom(8).hex().encode() + b"@example.org>\r\n" + headers + b"\r\n" + body
    )


def test_default_size_limit_is_ten_megabytes_and_advertised(pg_engine: Any, committed_pg: Any) -> None:
    runtime = Runtime(Settings(mail_domains=(DOMAIN,)), engine=pg_engine, sessionmaker=committed_pg)
    with running_smtp(runtime, auth_mode="off", receive=intake.receive) as controller:
        client = smtplib.SMTP("127.0.0.1", controller.port)
        client.ehlo()
        features = dict(client.esmtp_features)
        client.quit()
    assert features["size"] == str(10 * 1024 * 1024)


def test_declared_size_over_the_limit_is_refused_at_mail_from(server: Any, calls: list[str]) -> None:
    with pytest.raises(smtplib.SMTPSenderRefused) as refused:
        send(server.port, _mail(b"x" * 900 + b"\r\n") * 80, mail_from="chef@example.org", rcpt_tos=[RCPT])
    assert refused.value.smtp_code == 552
    assert calls == []


def test_oversized_data_answers_552_and_the_handler_never_runs(
    server: Any, calls: list[str], committed_pg: sessionmaker[Session]
) -> None:
    body = (b"2 cs roma tomatoes please " * 30 + b"\r\n") * 100  # ~80 KB over a 64 KB limit
    code, _ = raw_transaction(server.port, _mail(body), mail_from="chef@example.org", rcpt=RCPT)
    assert code == 552
    assert calls == []
    assert _stored(committed_pg) == []


def test_line_over_1000_bytes_answers_500(server: Any, calls: list[str]) -> None:
    code, reply = raw_transaction(server.port, _mail(b"a" * 1200 + b"\r\n"), mail_from="chef@example.org", rcpt=RCPT)
    assert code == 500
    assert b"Line too long" in reply
    assert calls == []


def test_command_call_limit_closes_a_connection_that_loops_on_noop(server: Any) -> None:
    with smtplib.SMTP("127.0.0.1", server.port) as client:
        client.ehlo()
        codes = [client.noop()[0] for _ in range(10)]
        assert codes == [250] * 10
        assert client.noop()[0] == 421


def test_mime_bomb_of_ten_thousand_parts_is_refused_before_parsing(full_size_server: Any, calls: list[str]) -> None:
    parts = b"".join(b"--b\r\nContent-Type: text/plain\r\n\r\nx\r\n" for _ in range(10_000))
    raw = _mail(parts + b"--b--\r\n", b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n')
    assert len(raw) < Settings().smtp_max_message_size  # refused for its shape, not its size
    with pytest.raises(smtplib.SMTPDataError) as refused:
        send(full_size_server.port, raw, mail_from="chef@example.org", rcpt_tos=[RCPT])
    assert refused.value.smtp_code == 554
    assert calls == []


def test_mime_bomb_nested_300_levels_is_refused_before_parsing(full_size_server: Any, calls: list[str]) -> None:
    raw = _mail(_nested(300), b"MIME-Version: 1.0\r\n" + _multipart_header(0))
    with pytest.raises(smtplib.SMTPDataError) as refused:
        send(full_size_server.port, raw, mail_from="chef@example.org", rcpt_tos=[RCPT])
    assert refused.value.smtp_code == 554
    assert calls == []


def test_raw_eight_bit_junk_is_stored_without_crashing(
    server: Any, committed_pg: sessionmaker[Session]
) -> None:
    SupplierFactory(slug="greenleaf")
    rng = random.Random(4)
    junk = bytes(rng.randrange(256) for _ in range(3000)).replace(b"\r", b"").replace(b"\n", b"\r\n")
    junk = b"\r\n".join(line[:900] for line in junk.split(b"\r\n"))
    headers = b"X-Junk: \x80\x81\x82\r\n"
    raw = _mail(b"2 cs roma \xe9\xe8\x00\r\n" + junk + b"\r\n", headers, subject=b"caf\xe9 \xff\xfe\x00 commande")
    send(server.port, raw,
         mail_from="chef@example.org", rcpt_tos=[RCPT])
    [message] = _stored(committed_pg)
    assert message.body.startswith("2 cs roma éè")
    assert "\x00" not in message.body
    assert message.subject is not None and message.subject.startswith("café")
    assert message.meta["raw_encoding"] == "base64"


def test_unknown_charset_label_is_stored_with_a_note(server: Any, committed_pg: sessionmaker[Session]) -> None:
    body = "Crème 2 cartons\r\n".encode()
    send(server.port, _mail(body, b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=x-klingon\r\n"),
         mail_from="chef@example.org", rcpt_tos=[RCPT])
    [message] = _stored(committed_pg)
    assert message.body == "Crème 2 cartons"
    assert any("x-klingon" in note for note in message.meta["notes"])


@pytest.fixture
def full_size_server(pg_engine: Any, committed_pg: sessionmaker[Session], calls: list[str]) -> Iterator[Any]:
    """The default 10 MB limit: the bombs below fit under it and must be refused for their shape."""
    runtime = Runtime(Settings(mail_domains=(DOMAIN,)), engine=pg_engine, sessionmaker=committed_pg,
                      queue=RecordingQueue())

    def counting_receive(rt: Runtime, incoming: intake.Incoming) -> intake.Received:
        calls.append(incoming.provider_id)
        return intake.receive(rt, incoming)

    with running_smtp(runtime, auth_mode="off", receive=counting_receive) as controller:
        yield controller


def _multipart_header(level: int) -> bytes:
    return b'Content-Type: multipart/mixed; boundary="n%d"\r\n' % level


def _nested(depth: int) -> bytes:
    """The body of a multipart (boundary n0) holding a multipart holding ... `depth` levels, then text."""
    inner = b"Content-Type: text/plain\r\n\r\nx\r\n"
    for level in range(depth - 1, 0, -1):
        inner = _multipart_header(level) + b"\r\n--n%d\r\n%s\r\n--n%d--\r\n" % (level, inner, level)
    return b"--n0\r\n" + inner + b"\r\n--n0--\r\n"
