"""Notify: the senders that put an outbound message on the wire, behind one small interface.

`dispatch.deliver` turns an outbox row into an `Outgoing` and hands it to the `Sender` for its channel:
Twilio REST for SMS/WhatsApp, an SMTP relay for email, the local outbox folder when no credentials are
configured (the embedded default), and the chat store for web chat (the chat API reads the outbox row).
A sender raises `TransientSendError` (try again later), `PermanentSendError` (never retry) or `OptedOut`.

Every sender also answers `find_sent(msg)`: "did an earlier attempt of this outbox row already reach the
provider?" That question is how a send interrupted between the provider's acceptance and our commit is
recovered without sending twice (see docs/dispatch.md).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from chat2order.config import Settings

# Twilio refuses message bodies longer than this (error 21617).
SMS_MAX_CHARS = 1600


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Outgoing:
    """One outbound message as a sender sees it; `outbox_id` is the idempotency key of the send."""

    outbox_id: int
    channel: str  # sms, whatsapp, email, chat
    to: str
    body: str
    sender: str | None = None  # E.164 number for SMS/WhatsApp; From address for email
    subject: str | None = None
    html: str | None = None
    attachments: tuple[Attachment, ...] = ()
    message_id: str | None = None  # deterministic email Message-ID, the same on every attempt
    reply_to: str | None = None
    attempt_started_at: dt.datetime | None = None  # no attempt of this message began before this time
    # Provider ids that belong to OTHER outbound messages: a recovery lookup must not take one of them.
    known_provider_ids: frozenset[str] = frozenset()
    # A pre-approved template (Twilio Content SID) and its variables, sent instead of `body`: the only kind of
    # message WhatsApp lets a business start outside the 24-hour window. `body` then holds variable "1".
    content_sid: str | None = None


@dataclass(frozen=True)
class Sent:
    provider_id: str
    detail: str = ""


class SendError(Exception):
    """A send that did not (certainly) go through. `code` is the provider's error code when it gave one."""

    retryable = False

    def __init__(self, message: str, *, code: int | str | None = None, ambiguous: bool = False) -> None:
        super().__init__(message)
        self.code = code
        # True when the provider may have accepted the message before the error (timeout after the request
        # was written): the next attempt must look the message up before sending again.
        self.ambiguous = ambiguous


class TransientSendError(SendError):
    retryable = True


class PermanentSendError(SendError):
    retryable = False


class OptedOut(PermanentSendError):
    """The recipient replied STOP (Twilio error 21610): never retried, the contact is flagged."""


class Sender(Protocol):
    """What dispatch needs from a sender."""

    name: str
    # True when sending the same Outgoing twice is recognisable as one message by the receiver (email with a
    # fixed Message-ID, a file named by the outbox id): a resend after an unknown outcome is then safe.
    resend_is_deduplicated: bool

    def send(self, msg: Outgoing) -> Sent: ...

    def find_sent(self, msg: Outgoing) -> str | None:
        """The provider id of an earlier attempt of `msg` the provider already holds; None if none is found
        (or the provider cannot be asked)."""
        ...


@dataclass
class Senders:
    """The sender for each channel, chosen once from the settings."""

    sms: Sender
    email: Sender
    chat: Sender
    extra: dict[str, Sender] = field(default_factory=dict)

    def for_channel(self, channel: str) -> Sender:
        if channel in self.extra:
            return self.extra[channel]
        if channel in ("sms", "whatsapp", "voicemail"):
            return self.sms
        if channel == "email":
            return self.email
        if channel == "chat":
            return self.chat
        raise PermanentSendError(f"no sender for channel {channel!r}")

    def close(self) -> None:
        for sender in {id(s): s for s in (self.sms, self.email, self.chat, *self.extra.values())}.values():
            close = getattr(sender, "close", None)
            if close is not None:
                close()


def senders_from_settings(settings: Settings) -> Senders:
    """Twilio when its credentials are set, the SMTP relay when `SMTP_RELAY_URL` is set, otherwise the local
    outbox folder (the embedded default). Web chat messages are delivered by being stored."""
    from chat2order.notify.chat_sender import ChatStoreSender
    from chat2order.notify.file_sender import FileSender

    files = FileSender(settings.outbox_dir)
    sms: Sender = files
    email: Sender = files
    if settings.twilio_account_sid and settings.twilio_auth_token:
        from chat2order.notify.twilio_sender import TwilioSender

        sms = TwilioSender(
            settings.twilio_account_sid,
            settings.twilio_auth_token,
            api_base=settings.twilio_api_base,
            public_base_url=settings.public_base_url,
        )
    if settings.smtp_relay_url:
        from chat2order.notify.smtp_sender import SmtpSender

        email = SmtpSender.from_url(settings.smtp_relay_url, timeout=min(30.0, settings.dispatch_lease_seconds / 2))
    return Senders(sms=sms, email=email, chat=ChatStoreSender())


def fit_sms_body(text: str, limit: int = SMS_MAX_CHARS) -> str:
    """Cut `text` to Twilio's body limit at a line boundary, saying how many lines were left out."""
    if len(text) <= limit:
        return text
    lines = text.splitlines()
    prefix = 0  # length of the first `keep` lines joined, with the newline before the tail
    best_keep = -1
    for keep in range(len(lines)):
        if prefix + len(f"… (+{len(lines) - keep} more lines)") > limit:
            break
        best_keep = keep
        prefix += len(lines[keep]) + 1
    if best_keep <= 0:  # not even the first line fits: cut inside it
        return text[: limit - 1] + "…"
    return "\n".join(lines[:best_keep] + [f"… (+{len(lines) - best_keep} more lines)"])


__all__ = [
    "SMS_MAX_CHARS",
    "Attachment",
    "OptedOut",
    "Outgoing",
    "PermanentSendError",
    "SendError",
    "Sender",
    "Senders",
    "Sent",
    "TransientSendError",
    "fit_sms_body",
    "senders_from_settings",
]
