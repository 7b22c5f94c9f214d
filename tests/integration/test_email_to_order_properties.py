"""Email to order with hostile bytes (issue 6): any MIME-ish input is a clean rejection or a parsed body.

The bytes go through the real SMTP `DATA` handler (`OrderMailHandler.handle_DATA`: MIME-bomb precheck, MIME
decoding, SPF/DKIM/DMARC recording with a stub resolver) with the intake replaced by a recorder, then the
recorded body through clean-up and the parser, as the worker would. The answer must be 250 (stored) or 554
(refused for a reason the sender is told); a 451 here would mean the handler crashed on the input and hid it
as "try again later", so the sending server would retry the poison message for days. After a 250 the parser
may only raise the project's own errors.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from types import SimpleNamespace
from typing import Any

from aiosmtpd.smtp import Envelope
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chat2order.channels.email_auth import StaticResolver
from chat2order.channels.smtp import OrderMailHandler
from chat2order.config import Settings
from chat2order.errors import Chat2OrderError
from chat2order.ordering.intake import Incoming, Received
from chat2order.parsing import ParseContext, parse
from chat2order.parsing.cleanup import clean
from chat2order.runtime import Runtime

DOMAIN = "chat2order.local"
RECIPIENT = f"orders+greenleaf@{DOMAIN}"
CHARSETS = ["utf-8", "iso-8859-1", "windows-1252", "us-ascii", "koi8-r", "shift_jis", "utf-16", "x-unknown",
            "utf-7", "", '"', "utf-8'en'"]
ENCODINGS = ["7bit", "8bit", "base64", "quoted-printable", "binary", "x-uuencode", "bogus"]
TYPES = ["text/plain", "text/html", "application/octet-stream", "text/csv", "message/rfc822",
         "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "multipart/alternative", "image/png"]

header_value = st.one_of(st.text(max_size=80), st.binary(max_size=80).map(lambda b: b.decode("latin-1")),
                         st.sampled_from(["=?utf-8?b?w6k=?=", "=?iso-8859-1?q?caf=E9?=", "=?bogus?x?zz?=",
                                          "<a@b>", "Chef <chef@example.org>", "<>", "undisclosed-recipients:;"]))
body_bytes = st.one_of(st.binary(max_size=600), st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass")),
                       st.sampled_from([b"2 cs tomato plum\r\n1 bunch parsley\r\n", b"=\r\n=XX=0", b"AAAA====",
                                        b"<html><body><p>3 limes<br>2 onion</p><script>x</script>", b"\x00\xff\xfe"]))


@st.composite
def part(draw: Any, depth: int = 0) -> bytes:
    kind = draw(st.sampled_from(TYPES))
    head = [f"Content-Type: {kind}; charset=\"{draw(st.sampled_from(CHARSETS))}\"".encode("latin-1")]
    if draw(st.booleans()):
        head.append(f"Content-Transfer-Encoding: {draw(st.sampled_from(ENCODINGS))}".encode())
    if draw(st.booleans()):
        head.append(b"Content-Disposition: attachment; filename=\"" + draw(st.binary(max_size=20)) + b"\"")
    if kind.startswith("multipart") and depth < 3:
        boundary = draw(st.sampled_from(["b1", "==x==", "", "a" * 80, "b1"]))
        head[0] = f"Content-Type: {kind}; boundary=\"{boundary}\"".encode()
        children = draw(st.lists(part(depth + 1), max_size=3))
        inner = b"".join(b"--" + boundary.encode() + b"\r\n" + child + b"\r\n" for child in children)
        closing = b"--" + boundary.encode() + b"--\r\n" if draw(st.booleans()) else b""
        return b"\r\n".join(head) + b"\r\n\r\n" + inner + closing
    return b"\r\n".join(head) + b"\r\n\r\n" + draw(body_bytes)


@st.composite
def mime_ish(draw: Any) -> bytes:
    headers = []
    for name in draw(st.lists(st.sampled_from(["From", "To", "Subject", "Message-ID", "Date", "In-Reply-To",
                                               "Reply-To", "Auto-Submitted", "DKIM-Signature", "Received",
                                               "X-Weird\x00Name", "Precedence"]), max_size=8)):
        headers.append(name.encode("latin-1") + b": " + draw(header_value).encode("utf-8", "surrogatepass"))
    headers.append(b"MIME-Version: 1.0")
    raw = b"\r\n".join(headers) + b"\r\n" + draw(part())
    return draw(st.sampled_from([raw, raw.replace(b"\r\n", b"\n"), raw[: len(raw) // 2]]))


any_bytes = st.one_of(mime_ish(), st.binary(max_size=2000))


class _Recorder:
    def __init__(self) -> None:
        self.incoming: list[Incoming] = []

    def __call__(self, rt: Runtime, incoming: Incoming) -> Received:
        self.incoming.append(incoming)
        return Received(message_id=len(self.incoming), created=True, status="received", contact_id=None,
                        restaurant_id=None, supplier_id=None)


def _deliver(raw: bytes) -> tuple[str, list[Incoming]]:
    recorder = _Recorder()
    runtime = Runtime(Settings(mail_domains=(DOMAIN,)))  # nothing in it is touched: the intake is the recorder
    handler = OrderMailHandler(runtime, resolver=StaticResolver(), auth_mode="record", receive=recorder)
    envelope = Envelope()
    envelope.mail_from = "chef@example.org"
    envelope.rcpt_tos = [RECIPIENT]
    envelope.original_content = raw
    session = SimpleNamespace(peer=("127.0.0.1", 40000), host_name="mx.example.org")
    answer = asyncio.run(handler.handle_DATA(None, session, envelope))  # type: ignore[arg-type]
    return answer, recorder.incoming


CONTEXT = ParseContext(index=None, received_at=dt.datetime(2026, 3, 5, 9, 0, tzinfo=dt.UTC), channel="email")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(raw=any_bytes)
def test_any_mime_ish_bytes_are_stored_or_refused_never_crash_the_handler(raw: bytes) -> None:
    answer, stored = _deliver(raw)
    assert answer.startswith(("250", "554")), answer
    if answer.startswith("554"):
        assert stored == []
        return
    [incoming] = stored
    assert isinstance(incoming.body, str) and isinstance(incoming.raw, str)
    assert incoming.provider_id and len(incoming.provider_id) <= 255


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(raw=mime_ish())
def test_a_stored_body_of_any_mime_ish_bytes_parses_or_raises_only_the_projects_own_error(raw: bytes) -> None:
    _answer, stored = _deliver(raw)
    if not stored:
        return
    body = stored[0].body
    cleaned = clean(body, channel="email")
    assert isinstance(cleaned.text, str)
    try:
        order = parse(body, CONTEXT)
    except Chat2OrderError:
        return
    assert order.intent in ("order", "other")
    assert all(line.sku is None for line in order.lines)


def test_a_mime_bomb_is_refused_with_554_and_nothing_is_stored() -> None:
    parts = b"".join(b"--b\r\nContent-Type: text/plain\r\n\r\nx\r\n" for _ in range(10_000))
    raw = b"From: a@b.example\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n" + parts + b"--b--\r\n"
    answer, stored = _deliver(raw)
    assert answer.startswith("554") and stored == []
