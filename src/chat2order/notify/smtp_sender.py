"""Email through an SMTP relay (`SMTP_RELAY_URL`).

`smtp://user:pass@host:587` sends with STARTTLS, required: credentials and order sheets never cross the
network in clear, and a relay that does not offer STARTTLS is an error, not a silent downgrade.
`smtps://user:pass@host:465` uses implicit TLS. `?tls=none` turns TLS off explicitly (a local sink or a
relay on the same host); `?cafile=/path/ca.pem` trusts a private CA (tests, in-house relays).

The relay cannot be asked whether it already holds a message, so `find_sent` answers None and recovery
resends; every attempt carries the same Message-ID, which is what lets a receiver drop the repeat.

A worker sends many order sheets in the evening rush: the connection (TCP, STARTTLS handshake, AUTH) is kept
for the next message while it is younger than `idle_seconds` since its last use, as mail clients do (RFC 5321
lets a client send several transactions per session). A kept connection the relay has closed in the
meantime is noticed at MAIL FROM, before anything is handed over, and the message goes on a fresh one.
"""

from __future__ import annotations

import functools
import smtplib
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

from chat2order.notify import Outgoing, PermanentSendError, Sent, TransientSendError
from chat2order.notify.mime import build_email


@dataclass(frozen=True)
class RelayConfig:
    host: str
    port: int
    tls: str  # "starttls", "ssl" or "none"
    username: str | None = None
    password: str | None = None
    cafile: str | None = None

    @classmethod
    def parse(cls, url: str) -> RelayConfig:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps"):
            raise ValueError(f"SMTP_RELAY_URL must start with smtp:// or smtps://, not {parts.scheme!r}")
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        tls = query.get("tls", "ssl" if parts.scheme == "smtps" else "starttls")
        if tls not in ("starttls", "ssl", "none"):
            raise ValueError(f"SMTP_RELAY_URL tls must be starttls, ssl or none, not {tls!r}")
        default_port = 465 if tls == "ssl" else 587
        return cls(
            host=parts.hostname or "localhost",
            port=parts.port or default_port,
            tls=tls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            cafile=query.get("cafile"),
        )


class SmtpSender:
    name = "smtp"
    resend_is_deduplicated = True  # same Message-ID on every attempt

    def __init__(self, config: RelayConfig, *, timeout: float = 30.0, idle_seconds: float = 20.0) -> None:
        self.config = config
        self.timeout = timeout
        self.idle_seconds = idle_seconds  # below the 5 minutes RFC 5321 asks servers to wait, and most relays' 60 s
        self._lock = threading.Lock()  # one conversation at a time on the kept connection
        self._kept: smtplib.SMTP | None = None
        self._used_at = 0.0

    @classmethod
    def from_url(cls, url: str, *, timeout: float = 30.0) -> SmtpSender:
        return cls(RelayConfig.parse(url), timeout=timeout)

    @functools.cached_property
    def _tls_context(self) -> ssl.SSLContext:
        # Loading the system's CA store costs milliseconds: once per sender, not once per message.
        return ssl.create_default_context(cafile=self.config.cafile)

    def _connect(self) -> smtplib.SMTP:
        cfg = self.config
        if cfg.tls == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=self.timeout, context=self._tls_context)
        else:
            smtp = smtplib.SMTP(cfg.host, cfg.port, timeout=self.timeout)
        smtp.ehlo()
        if cfg.tls == "starttls":
            if not smtp.has_extn("starttls"):
                smtp.quit()
                raise PermanentSendError(f"relay {cfg.host}:{cfg.port} does not offer STARTTLS")
            smtp.starttls(context=self._tls_context)
            smtp.ehlo()
        if cfg.username:
            smtp.login(cfg.username, cfg.password or "")
        return smtp

    def _open(self) -> smtplib.SMTP:
        try:
            return self._connect()
        except PermanentSendError:
            raise
        except smtplib.SMTPAuthenticationError as exc:
            raise PermanentSendError(f"relay refused the credentials: {exc.smtp_code}", code=exc.smtp_code) from exc
        except (OSError, smtplib.SMTPException) as exc:
            # Nothing was handed over yet: a clean failure, safe to retry.
            raise TransientSendError(f"cannot reach relay: {exc}") from exc

    def _take_kept(self) -> smtplib.SMTP | None:
        smtp, self._kept = self._kept, None
        if smtp is not None and time.monotonic() - self._used_at >= self.idle_seconds:
            _quietly_close(smtp)
            return None
        return smtp

    def send(self, msg: Outgoing) -> Sent:
        email = build_email(msg)
        envelope_from = msg.sender or email["From"]
        with self._lock:
            smtp = self._take_kept()
            if smtp is not None:
                try:
                    code, response = smtp.mail(envelope_from)
                except (OSError, smtplib.SMTPException):
                    code, response = 421, b""  # the relay closed the kept connection: nothing was handed over
                if code == 421:
                    smtp.close()
                    smtp = None
                elif code != 250:
                    _quietly_close(smtp)
                    raise _refusal(code, response)
            if smtp is None:
                smtp = self._open()
                _step(smtp, lambda: smtp.mail(envelope_from), ok=(250,))
            _step(smtp, lambda: smtp.rcpt(msg.to), ok=(250, 251))
            response = _step(smtp, lambda: smtp.data(email.as_bytes()), ok=(250,), data_sent=True)
            self._kept, self._used_at = smtp, time.monotonic()
        detail = response.decode("utf-8", "replace") if isinstance(response, bytes) else str(response)
        return Sent(provider_id=msg.message_id or f"smtp:{msg.outbox_id}", detail=detail)

    def close(self) -> None:
        with self._lock:
            smtp, self._kept = self._kept, None
        if smtp is not None:
            _quietly_close(smtp)

    def find_sent(self, msg: Outgoing) -> str | None:
        return None


def _step(smtp: smtplib.SMTP, command: Callable[[], tuple[int, bytes]], *, ok: tuple[int, ...],
          data_sent: bool = False) -> bytes:
    """Run one SMTP command; any answer but `ok`, or a lost connection, closes the connection and raises."""
    try:
        code, response = command()
    except smtplib.SMTPResponseException as exc:
        # A definite answer (e.g. DATA refused before any content): not ambiguous.
        _quietly_close(smtp)
        raise _refusal(exc.smtp_code, exc.smtp_error) from exc
    except (TimeoutError, OSError, smtplib.SMTPException) as exc:
        _quietly_close(smtp)
        # Lost during DATA: the relay may have queued it; the next attempt resends with the same Message-ID.
        raise TransientSendError(f"connection lost: {exc}", ambiguous=data_sent) from exc
    if code not in ok:
        _quietly_close(smtp)
        raise _refusal(code, response)
    return response


def _refusal(code: int, response: bytes | str) -> Exception:
    text = response.decode("utf-8", "replace") if isinstance(response, bytes) else str(response)
    if 400 <= code < 500:
        return TransientSendError(f"relay deferred: {code} {text}", code=code)
    return PermanentSendError(f"relay refused: {code} {text}", code=code)


def _quietly_close(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        smtp.close()
