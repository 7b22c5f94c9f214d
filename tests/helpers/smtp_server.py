"""Our SMTP server (`channels.smtp.start_smtp`) running on a free loopback port, and a client to talk to it.

    with running_smtp(runtime, resolver=StaticResolver(...)) as server:
        send(server.port, raw, mail_from="chef@x.example", rcpt_tos=["orders+greenleaf@chat2order.local"])
"""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from chat2order.channels.smtp import start_smtp

EML_DIR = Path(__file__).resolve().parents[2] / "fixtures" / "eml"


@contextmanager
def running_smtp(runtime: Any, **kwargs: Any) -> Iterator[Controller]:
    controller = start_smtp(runtime.settings, runtime, listen="127.0.0.1:0", **kwargs)
    try:
        yield controller
    finally:
        controller.stop()


def crlf(raw: bytes) -> bytes:
    """SMTP lines end in CRLF whatever the file on disk uses."""
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def eml(name: str) -> bytes:
    return crlf((EML_DIR / f"{name}.eml").read_bytes())


def expected_text(name: str) -> str:
    return (EML_DIR / f"{name}.expected.txt").read_text(encoding="utf-8")


def send(port: int, raw: bytes, *, mail_from: str, rcpt_tos: list[str]) -> dict[str, Any]:
    """One SMTP transaction with smtplib; raises smtplib's errors for refused recipients or data."""
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        return client.sendmail(mail_from, rcpt_tos, raw)


def raw_transaction(port: int, raw: bytes, *, mail_from: str, rcpt: str) -> tuple[int, bytes]:
    """MAIL (without SIZE, so the server only learns the size while reading), RCPT, DATA: the DATA reply."""
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.ehlo("client.example")
        code, reply = client.mail(mail_from)
        assert code == 250, reply
        code, reply = client.rcpt(rcpt)
        assert code == 250, reply
        return client.data(raw)
