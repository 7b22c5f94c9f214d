"""Twilio webhooks: SMS and WhatsApp in, voicemail with transcription, outbound status callbacks.

Thin by design: verify `X-Twilio-Signature`, turn the form into an `Incoming`, call the intake service
(which stores, commits, then queues), answer an empty TwiML `<Response/>` within milliseconds; the
confirmation goes out later through the REST API. The signature is checked against the public URL
(`PUBLIC_BASE_URL` + path + query), which is what Twilio signed even when a TLS-terminating proxy sits in
front; without `PUBLIC_BASE_URL` the request URL as ProxyFix reconstructs it is used. A bad or missing
signature is answered 403 before anything is read or stored.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar
from urllib.parse import urlencode

from flask import Blueprint, Response, abort, request
from twilio.request_validator import (
    SIGNATURE_HEADER,
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    get_signature_algorithm,
)
from twilio.twiml.voice_response import VoiceResponse

from chat2order import phones
from chat2order.observability import log_context
from chat2order.ordering import intake
from chat2order.web import current_runtime

log = logging.getLogger(__name__)

bp = Blueprint("twilio", __name__, url_prefix="/twilio")

F = TypeVar("F", bound=Callable[..., Any])

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
VOICE_PROMPT = "Please leave your order after the tone, then hang up."
VOICE_THANKS = "Thank you, we received your order."
# Twilio's <Say> voices for the languages we serve; anything else is read in US English.
SAY_LANGUAGES = {"en": "en-US", "pt": "pt-PT", "fr": "fr-FR", "it": "it-IT", "es": "es-ES"}


def sign(url: str, params: dict[str, str] | list[tuple[str, str]], auth_token: str) -> str:
    """The `X-Twilio-Signature` Twilio would send for a form POST of `params` to `url`."""
    from werkzeug.datastructures import MultiDict

    return RequestValidator(auth_token).compute_signature(url, MultiDict(params))


def signed_url() -> str:
    """The URL Twilio signed: the configured public base URL plus this path and query, else the request URL."""
    base = current_runtime().settings.public_base_url
    if not base:
        return request.url
    query = request.query_string.decode("latin-1")
    return base.rstrip("/") + request.path + (f"?{query}" if query else "")


def verified(view: F) -> F:
    """Refuse (403) any request whose Twilio signature is missing or wrong; nothing is stored then."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        token = current_runtime().settings.twilio_auth_token
        signature = request.headers.get(SIGNATURE_HEADER, "")
        if not token:
            log.error("TWILIO_AUTH_TOKEN is not set: refusing Twilio webhooks")
            _refuse(403, "Twilio webhooks are not configured")
        if not signature:
            _refuse(403, "missing X-Twilio-Signature")
        algorithm = get_signature_algorithm(request.headers.get(SIGNATURE_SETTINGS_HEADER))
        if not RequestValidator(token).validate(signed_url(), request.form, signature, algorithm):
            _refuse(403, "invalid X-Twilio-Signature", url=signed_url())
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _refuse(code: int, reason: str, **fields: Any) -> NoReturn:
    """One structured log line per refused webhook (with the provider's id when it sent one), then abort."""
    sid = request.form.get("MessageSid") or request.form.get("RecordingSid") or request.form.get("SmsSid")
    log.warning(
        "twilio webhook refused: %s", reason,
        extra={"data": {"path": request.path, "provider_id": sid, "status_code": code, **fields}},
    )
    abort(code, description=reason)


def _accepted(result: intake.Received, provider_id: str, channel: str) -> None:
    """One structured log line per accepted message, carrying the stored message id to follow it further."""
    with log_context(message_id=result.message_id, channel=channel):
        log.info(
            "twilio %s accepted", channel,
            extra={"data": {"provider_id": provider_id, "status": result.status, "created": result.created}},
        )


def twiml(text: str = EMPTY_TWIML) -> Response:
    return Response(text, status=200, mimetype="text/xml")


def _raw_form() -> str:
    return urlencode(list(request.form.items(multi=True)))


def _media() -> list[dict[str, str]]:
    try:
        count = int(request.form.get("NumMedia", "0") or 0)
    except ValueError:
        count = 0
    return [
        {"url": request.form.get(f"MediaUrl{i}", ""), "content_type": request.form.get(f"MediaContentType{i}", "")}
        for i in range(min(count, 10))
    ]


@bp.post("/sms")
@verified
def sms() -> Response:
    """Inbound SMS and WhatsApp (`From: whatsapp:+...`)."""
    form = request.form
    sid = form.get("MessageSid") or form.get("SmsMessageSid") or form.get("SmsSid")
    if not sid:
        _refuse(400, "MessageSid missing")
    sender = form.get("From", "")
    meta: dict[str, Any] = {
        key: form[name]
        for key, name in (
            ("account_sid", "AccountSid"),
            ("messaging_service_sid", "MessagingServiceSid"),
            ("from_country", "FromCountry"),
            ("profile_name", "ProfileName"),
            ("wa_id", "WaId"),
            ("num_segments", "NumSegments"),
        )
        if form.get(name)
    }
    media = _media()
    if media:
        meta["media"] = media
    channel = "whatsapp" if phones.is_whatsapp(sender) else "sms"
    result = intake.receive(
        current_runtime(),
        intake.Incoming(
            channel=channel,
            provider_id=sid,
            sender=sender,
            recipient=form.get("To"),
            body=form.get("Body", ""),
            raw=_raw_form(),
            meta=meta,
        ),
    )
    _accepted(result, sid, channel)
    return twiml()


@bp.post("/voice")
@verified
def voice() -> Response:
    """A call to a supplier's number: a short prompt, then a recording Twilio transcribes."""
    from chat2order.i18n import language_of, t

    locale = intake.supplier_locale(current_runtime(), request.form.get("To", ""))
    say = SAY_LANGUAGES[language_of(locale)]
    response = VoiceResponse()
    if request.form.get("RecordingUrl"):
        # <Record> without an action posts back here when the caller hangs up or presses a key.
        response.say(t(locale, VOICE_THANKS), language=say)
        response.hangup()
        return twiml(str(response))
    base = current_runtime().settings.public_base_url or request.host_url.rstrip("/")
    response.say(t(locale, VOICE_PROMPT), language=say)
    response.record(
        max_length=180,
        timeout=10,
        play_beep=True,
        transcribe=True,
        transcribe_callback=f"{base}/twilio/transcription",
    )
    return twiml(str(response))


@bp.post("/transcription")
@verified
def transcription() -> Response:
    """Twilio's transcription of a voicemail: the same pipeline as a text, channel `voicemail`."""
    form = request.form
    sid = form.get("RecordingSid") or form.get("TranscriptionSid") or form.get("CallSid")
    if not sid:
        _refuse(400, "RecordingSid missing")
    meta: dict[str, Any] = {
        key: form[name]
        for key, name in (
            ("recording_url", "RecordingUrl"),
            ("recording_sid", "RecordingSid"),
            ("transcription_sid", "TranscriptionSid"),
            ("transcription_status", "TranscriptionStatus"),
            ("call_sid", "CallSid"),
            ("account_sid", "AccountSid"),
        )
        if form.get(name)
    }
    text = form.get("TranscriptionText", "")
    if form.get("TranscriptionStatus", "completed") != "completed" or not text.strip():
        meta["hold_reason"] = "voicemail could not be transcribed; listen to the recording"
    result = intake.receive(
        current_runtime(),
        intake.Incoming(
            channel="voicemail",
            provider_id=sid,
            sender=form.get("From", ""),
            recipient=form.get("To"),
            body=text,
            raw=_raw_form(),
            meta=meta,
        ),
    )
    _accepted(result, sid, "voicemail")
    return twiml()


@bp.post("/status")
@verified
def status() -> Response:
    """Delivery status of a message we sent (queued, sent, delivered, undelivered, failed, ...)."""
    sid = request.form.get("MessageSid") or request.form.get("SmsSid")
    message_status = request.form.get("MessageStatus") or request.form.get("SmsStatus")
    if not sid or not message_status:
        abort(400, description="MessageSid and MessageStatus required")
    from chat2order.ordering import delivery_status

    delivery_status.record(
        current_runtime(), sid, message_status, request.form.get("ErrorCode") or None,
        outbox_id=request.args.get("ob", type=int),  # our StatusCallback carries ?ob=<outbox id> (signed URL)
    )
    return twiml()
