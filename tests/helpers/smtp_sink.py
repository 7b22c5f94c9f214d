"""A local SMTP sink (aiosmtpd) standing in for the supplier's mail server / the SMTP relay.

Real SMTP on loopback, optionally with STARTTLS required (a throwaway CA from `trustme`) and AUTH.
Everything accepted is kept in `received` in arrival order. Like a real MTA, a message is stored as soon
as its DATA is complete, even when the client has gone away before reading the 250 reply; so a resend after
that point shows up as a second copy carrying the same Message-ID (`by_message_id` groups them).

Faults for tests: `rcpt_delay(rcpt) -> seconds` holds the reply to RCPT TO (the client is mid-conversation,
nothing is stored yet) and `data_delay(message) -> seconds` holds the 250 after DATA (stored already).

    with SmtpSink(tls=True) as sink:
        settings = settings.with_(smtp_relay_url=sink.relay_url)
"""

from __future__ import annotations

import asyncio
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Self

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes
    received_at: float
    peer: Any = None  # the client's (host, port): one per connection

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.raw, policy=policy.default)  # type: ignore[return-value]

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"] or "")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class SmtpSink:
    tls: bool = False
    username: str | None = None
    password: str | None = None
    rcpt_delay: Callable[[str], float] = lambda _rcpt: 0.0
    data_delay: Callable[[EmailMessage], float] = lambda _m: 0.0
    refuse_rcpt: Callable[[str], bool] = lambda _rcpt: False  # answer 550 to these recipients
    port: int = field(default_factory=_free_port)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._received: list[ReceivedMail] = []
        self.rcpt_attempts: list[str] = []  # every RCPT TO seen, including conversations that never finished
        self._controller: Controller | None = None
        self._tmp = tempfile.TemporaryDirectory(prefix="smtp-sink-")
        self.cafile: str | None = None

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> SmtpSink:
        kwargs: dict[str, Any] = {}
        if self.tls:
            import trustme

            ca = trustme.CA()
            cert = ca.issue_cert("127.0.0.1", "localhost")
            import ssl

            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            cert.configure_cert(context)
            self.cafile = str(Path(self._tmp.name) / "ca.pem")
            ca.cert_pem.write_to_path(self.cafile)
            kwargs.update(tls_context=context, require_starttls=True)
        if self.username is not None:
            kwargs.update(auth_required=True, auth_require_tls=self.tls, authenticator=self._authenticate)
        self._controller = Controller(
            _Handler(self), hostname="127.0.0.1", port=self.port, server_hostname="sink.test", **kwargs
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
        self._tmp.cleanup()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def relay_url(self) -> str:
        """The SMTP_RELAY_URL a sender should use to reach this sink."""
        auth = f"{self.username}:{self.password}@" if self.username is not None else ""
        if self.tls:
            return f"smtp://{auth}127.0.0.1:{self.port}?cafile={self.cafile}"
        return f"smtp://{auth}127.0.0.1:{self.port}?tls=none"

    # -- what the tests look at ------------------------------------------------------------------
    @property
    def received(self) -> list[ReceivedMail]:
        with self._lock:
            return list(self._received)

    def by_message_id(self) -> dict[str, list[ReceivedMail]]:
        groups: dict[str, list[ReceivedMail]] = {}
        for mail in self.received:
            groups.setdefault(mail.message_id, []).append(mail)
        return groups

    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedMail]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.received) >= count:
                break
            time.sleep(0.05)
        return self.received

    def _store(self, mail: ReceivedMail) -> None:
        with self._lock:
            self._received.append(mail)

    def _authenticate(self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == self.username
            and auth_data.password.decode() == self.password
        )
        return AuthResult(success=ok, handled=False)


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]) -> str:
        with self.sink._lock:
            self.sink.rcpt_attempts.append(address)
        delay = self.sink.rcpt_delay(address)
        if delay:
            await asyncio.sleep(delay)
        if self.sink.refuse_rcpt(address):
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        mail = ReceivedMail(
            mail_from=str(envelope.mail_from or ""),
            rcpt_tos=tuple(envelope.rcpt_tos),
            raw=raw,
            received_at=time.time(),
            peer=session.peer,
        )
        # Stored before the reply, as an MTA queues before it answers 250.
        self.sink._store(mail)
        delay = self.sink.data_delay(mail.message)  # type: ignore[arg-type]
        if delay:
            await asyncio.sleep(delay)
        return "250 2.0.0 Ok: queued"
