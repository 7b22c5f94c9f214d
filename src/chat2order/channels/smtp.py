"""Our own SMTP server (aiosmtpd): orders mailed to `orders+<supplier>@<mail domain>` become inbound messages.

The handler checks cheaply, stores, commits, then the intake queues the processing (STYLE rules 1-2, the
Mailman LMTP runner's shape): RCPT accepts only our mail domains (550 otherwise); DATA refuses MIME bombs
(554) before parsing, decodes the MIME, records SPF/DKIM/DMARC, and hands one `Incoming` per recipient to
`intake.receive`. 250 is answered only after the commit; any failure to store answers 451 so the sending
server retries later (the retry is deduplicated on Message-ID). Size (552), line length (500) and the
per-connection command budget (421) are enforced by aiosmtpd itself before the handler runs.
With a certificate configured (`SMTP_TLS_CERT`/`SMTP_TLS_KEY`) the server offers STARTTLS, so mail from
other servers travels encrypted; the TLS version and cipher are recorded with each message.

Blocking work (MIME parsing, DNS, the database) runs in a worker thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import signal
import ssl
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from chat2order.channels import mime
from chat2order.channels.email_auth import DnsResolver, Resolver, StaticResolver, authenticate
from chat2order.config import Settings
from chat2order.errors import InvalidInput
from chat2order.observability import log_context

if TYPE_CHECKING:
    from chat2order.ordering.intake import Received
    from chat2order.runtime import Runtime

log = logging.getLogger(__name__)

MAX_RECIPIENTS = 100
# aiosmtpd leaves the per-connection budget off; a sending MTA reuses a connection for a few dozen mails.
COMMAND_CALL_LIMIT = {"*": 20, "MAIL": 100, "RCPT": 500, "DATA": 100, "RSET": 100, "NOOP": 10}
IDLE_TIMEOUT_SECONDS = 120
AUTH_MODES = ("enforce", "record", "off")


class OrderMailHandler:
    """aiosmtpd handler: `handle_RCPT` filters recipients, `handle_DATA` stores the message."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        resolver: Resolver | None = None,
        auth_mode: str = "enforce",
        receive: Callable[[Runtime, Any], Received] | None = None,
    ) -> None:
        if auth_mode not in AUTH_MODES:
            raise InvalidInput(f"auth mode must be one of {', '.join(AUTH_MODES)}")
        self.runtime = runtime
        self.domains = {d.lower() for d in runtime.settings.mail_domains}
        self.auth_mode = auth_mode
        self.resolver: Resolver = StaticResolver() if auth_mode == "off" else (resolver or DnsResolver())
        if receive is None:
            from chat2order.ordering.intake import receive as intake_receive

            receive = intake_receive
        self._receive = receive

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        local, _, domain = address.rpartition("@")
        if not local or domain.lower() not in self.domains:
            return f"550 5.7.1 <{address}>: relay denied, this server only takes mail for {', '.join(sorted(self.domains))}"
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return "452 4.5.3 Too many recipients"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 Recipient OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        if isinstance(raw, str):  # only when someone configures decode_data=True
            raw = raw.encode("utf-8", errors="surrogateescape")
        refused = await asyncio.to_thread(mime.precheck, raw)
        if refused:
            _log_refused(session, envelope, refused)
            return f"554 5.6.0 Message refused: {refused}"
        peer_ip = session.peer[0] if isinstance(session.peer, tuple) else None
        try:
            results = await asyncio.to_thread(
                self.store, raw, mail_from=envelope.mail_from, rcpt_tos=list(envelope.rcpt_tos),
                peer_ip=peer_ip, helo=session.host_name, tls=tls_meta(session),
            )
        except InvalidInput as exc:
            # Deterministic: retrying would fail the same way, so the sender gets a bounce with the reason.
            _log_refused(session, envelope, str(exc))
            return f"554 5.6.0 Message refused: {exc}"
        except Exception:
            # Never lose mail: a temporary failure makes the sending server keep it and try again.
            log.exception("could not store mail from %s; answered 451", session.peer)
            return "451 4.3.0 Temporary failure storing the message, please try again later"
        created = sum(1 for r in results if r.created)
        return f"250 2.0.0 Stored ({created} new, {len(results) - created} already had)"

    def store(
        self, raw: bytes, *, mail_from: str | None, rcpt_tos: list[str], peer_ip: str | None, helo: str | None,
        tls: dict[str, Any] | None = None,
    ) -> list[Received]:
        """Decode, authenticate, and store one inbound message per recipient (blocking; runs in a thread)."""
        from chat2order.ordering.intake import Incoming

        content = mime.parse(raw, envelope_sender=mail_from)
        meta = self._meta(raw, content, mail_from=mail_from, peer_ip=peer_ip, helo=helo)
        if tls is not None:
            meta["tls"] = tls
        raw_text, raw_encoding = mime.raw_as_text(raw)
        if raw_encoding != "utf-8":
            meta["raw_encoding"] = raw_encoding
        sender = content.from_address or (mail_from or "").strip("<>").lower() or "unknown@invalid"
        received_at = dt.datetime.now(dt.UTC)
        results = []
        for recipient in rcpt_tos:
            incoming = Incoming(
                channel="email",
                provider_id=provider_id(content.message_id, raw, recipient),
                sender=sender,
                recipient=recipient.lower(),
                body=content.text,
                raw=raw_text,
                subject=content.subject or None,
                received_at=received_at,
                meta=dict(meta),
            )
            result = self._receive(self.runtime, incoming)
            # One line per stored message, with the id that follows it through the worker to the dispatch.
            with log_context(message_id=result.message_id, channel="email"):
                log.info(
                    "smtp mail accepted",
                    extra={"data": {"provider_id": incoming.provider_id, "recipient": incoming.recipient,
                                    "status": result.status, "created": result.created}},
                )
            results.append(result)
        return results

    def _meta(
        self, raw: bytes, content: mime.EmailContent, *, mail_from: str | None, peer_ip: str | None,
        helo: str | None,
    ) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "message_id": content.message_id,
            "envelope_from": mail_from,
            "from_name": content.from_name,
            "peer": peer_ip,
            "helo": helo,
            "date": content.date,
            "in_reply_to": content.in_reply_to,
            "text_source": content.text_source,
            "attachments": [a.to_meta() for a in content.attachments],
        }
        if content.reply_to and content.reply_to != content.from_address:
            meta["reply_to"] = content.reply_to
        if content.notes:
            meta["notes"] = list(content.notes)
        if content.auto_reply:
            meta["auto_reply"] = True
            meta["auto_reply_reason"] = content.auto_reply
        if self.auth_mode != "off":
            from_domain = content.from_address.rpartition("@")[2]
            auth = authenticate(
                raw, resolver=self.resolver, authserv_id=self.runtime.settings.mail_domain,
                peer_ip=peer_ip, helo=helo, mail_from=mail_from, from_domain=from_domain,
            )
            meta["auth"] = auth.to_meta()
            if self.auth_mode == "enforce" and auth.verdict != "pass":
                # The intake holds this only when the From address belongs to a known contact.
                meta["hold_reason"] = (
                    f"unauthenticated email (spf={auth.spf}, dkim={auth.dkim}, dmarc={auth.dmarc}):"
                    " the From address may be forged"
                )
        return meta


def tls_meta(session: Session) -> dict[str, Any] | None:
    """The TLS version and cipher of a session that ran STARTTLS; None for plain SMTP."""
    extra = getattr(session, "ssl", None)
    if not extra:
        return None
    ssl_object = extra.get("ssl_object")
    cipher = extra.get("cipher")
    return {
        "version": ssl_object.version() if ssl_object is not None else None,
        "cipher": cipher[0] if cipher else None,
    }


def tls_context(settings: Settings) -> ssl.SSLContext | None:
    """A server context for STARTTLS from the configured PEM files, or None when none are configured.

    Senders are not asked for client certificates (MTAs rarely have them); TLS 1.2 is the floor.
    """
    if not settings.smtp_tls_cert:
        if settings.smtp_require_tls:
            raise InvalidInput("SMTP_REQUIRE_TLS needs a certificate: set SMTP_TLS_CERT (and SMTP_TLS_KEY)")
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(settings.smtp_tls_cert, settings.smtp_tls_key or None)
    except (OSError, ssl.SSLError) as exc:
        raise InvalidInput(f"cannot load the SMTP TLS certificate {settings.smtp_tls_cert!r}: {exc}") from exc
    return context


def _log_refused(session: Session, envelope: Envelope, reason: str) -> None:
    """One structured line per refused message (nothing was stored, so there is no message id)."""
    fields = {"peer": session.peer, "mail_from": envelope.mail_from, "rcpt_tos": list(envelope.rcpt_tos)}
    log.warning("smtp mail refused: %s", reason, extra={"data": fields})


def provider_id(message_id: str | None, raw: bytes, recipient: str) -> str:
    """The dedupe key: Message-ID (or a hash of the bytes) per recipient mailbox.

    Per recipient because one mail sent to two suppliers' addresses is two orders; a redelivery to the same
    address is the same key.
    """
    base = message_id or "sha256:" + hashlib.sha256(raw).hexdigest()
    key = f"{base} {recipient.lower()}"
    return key if len(key) <= 255 else "sha256:" + hashlib.sha256(key.encode()).hexdigest()


class _Controller(Controller):
    """aiosmtpd's threaded controller, also on port 0 (the OS picks; `port` is updated once bound)."""

    def _trigger_server(self) -> None:
        if self.port == 0 and self.server is not None and self.server.sockets:
            self.port = int(self.server.sockets[0].getsockname()[1])
        super()._trigger_server()


def parse_listen(listen: str) -> tuple[str, int]:
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit():
        raise InvalidInput(f"listen address must be HOST:PORT, got {listen!r}")
    return host.strip("[]") or "0.0.0.0", int(port)


def start_smtp(
    settings: Settings,
    runtime: Runtime,
    *,
    listen: str | None = None,
    resolver: Resolver | None = None,
    auth_mode: str = "enforce",
    receive: Callable[[Runtime, Any], Received] | None = None,
) -> Controller:
    """Start the server in a background thread and return its controller (`.port`, `.stop()`)."""
    host, port = parse_listen(listen or settings.smtp_listen)
    handler = OrderMailHandler(runtime, resolver=resolver, auth_mode=auth_mode, receive=receive)
    context = tls_context(settings)
    controller = _Controller(
        handler,
        hostname=host,
        port=port,
        server_hostname=settings.mail_domain,  # the banner name; avoids a reverse-DNS lookup at start
        ident="chat2order",
        data_size_limit=settings.smtp_max_message_size,
        command_call_limit=COMMAND_CALL_LIMIT,
        enable_SMTPUTF8=True,
        timeout=IDLE_TIMEOUT_SECONDS,
        tls_context=context,
        require_starttls=settings.smtp_require_tls,
    )
    controller.start()
    log.info(
        "SMTP listening on %s:%s for %s (STARTTLS %s)", host, controller.port, ", ".join(settings.mail_domains),
        ("required" if settings.smtp_require_tls else "offered") if context else "off",
    )
    return controller


def serve_smtp(
    settings: Settings,
    runtime: Runtime,
    *,
    listen: str | None = None,
    auth_mode: str = "enforce",
    on_ready: Callable[[Controller], None] | None = None,
) -> None:
    """Run the SMTP server until SIGTERM or SIGINT (the `chat2order smtp` command)."""
    controller = start_smtp(settings, runtime, listen=listen, auth_mode=auth_mode)
    if on_ready is not None:
        on_ready(controller)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    try:
        stop.wait()
    finally:
        controller.stop()
        runtime.close()
