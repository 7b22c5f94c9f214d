"""SMS and WhatsApp through the Twilio REST API (`twilio.rest.Client`).

The client talks HTTP through `ApiBaseHttpClient`, a `TwilioHttpClient` subclass plugged into the client's
`http_client` hook: when `TWILIO_API_BASE` is set, every request for `https://api.twilio.com/...` goes to
that base instead (the tests' local stand-in speaking Twilio's REST API on loopback).

Each message asks Twilio for status callbacks at `PUBLIC_BASE_URL/twilio/status?ob=<outbox id>`: the
`ob` parameter lets a callback find its outbox row even when the worker died before storing the SID.

Twilio has no documented idempotency key for creating a message, so recovery after an unknown outcome
lists the messages recently sent to the recipient from our number and matches the body (`find_sent`).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from chat2order.notify import (
    SMS_MAX_CHARS,
    OptedOut,
    Outgoing,
    PermanentSendError,
    Sent,
    TransientSendError,
)

log = logging.getLogger(__name__)

OPTED_OUT = 21610  # "Attempt to send to unsubscribed recipient"
# Messages created this long before the attempt began still count as "that attempt" (clock skew).
LOOKUP_SKEW = dt.timedelta(minutes=2)
LOOKUP_LIMIT = 100


class ApiBaseHttpClient(TwilioHttpClient):
    """`TwilioHttpClient` that sends requests for api.twilio.com to another base URL when one is given."""

    def __init__(self, api_base: str = "", *, timeout: float = 15.0, **kwargs: Any) -> None:
        super().__init__(timeout=timeout, **kwargs)
        self.api_base = urlsplit(api_base.rstrip("/")) if api_base else None

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        if self.api_base is not None:
            target = urlsplit(url)
            url = urlunsplit(
                (self.api_base.scheme, self.api_base.netloc, self.api_base.path + target.path, target.query, "")
            )
        return super().request(method, url, *args, **kwargs)


def _address(channel: str, number: str) -> str:
    if channel == "whatsapp" and not number.startswith("whatsapp:"):
        return f"whatsapp:{number}"
    return number


def _clean_connect_failure(exc: requests.RequestException) -> bool:
    """True when the request certainly never reached Twilio (so a retry cannot duplicate)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if isinstance(exc, requests.ConnectionError):
        text = repr(exc)
        return "NewConnectionError" in text or "Connection refused" in text or "NameResolutionError" in text
    return False


class TwilioSender:
    name = "twilio"
    resend_is_deduplicated = False  # Twilio would send the same body twice: look up first

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        api_base: str = "",
        public_base_url: str = "",
        timeout: float = 15.0,
    ) -> None:
        self.http_client = ApiBaseHttpClient(api_base, timeout=timeout)
        self.client = Client(account_sid, auth_token, http_client=self.http_client)
        self.public_base_url = public_base_url.rstrip("/")

    def status_callback(self, outbox_id: int) -> str | None:
        if not self.public_base_url:
            return None
        return f"{self.public_base_url}/twilio/status?ob={outbox_id}"

    def send(self, msg: Outgoing) -> Sent:
        if not msg.sender:
            raise PermanentSendError("no sending number for this message (supplier inbound_phone not set)")
        if len(msg.body) > SMS_MAX_CHARS:
            raise PermanentSendError(f"body of {len(msg.body)} characters exceeds {SMS_MAX_CHARS}", code=21617)
        content: dict[str, str] = (
            {"content_sid": msg.content_sid, "content_variables": json.dumps({"1": msg.body})}
            if msg.content_sid else {"body": msg.body}
        )
        try:
            created = self.client.messages.create(
                to=_address(msg.channel, msg.to),
                from_=_address(msg.channel, msg.sender),
                status_callback=self.status_callback(msg.outbox_id),
                **content,
            )
        except TwilioRestException as exc:
            raise _classify(exc) from exc
        except requests.RequestException as exc:
            clean = _clean_connect_failure(exc)
            raise TransientSendError(f"Twilio unreachable: {exc}", ambiguous=not clean) from exc
        except TwilioException as exc:
            raise TransientSendError(f"Twilio client error: {exc}", ambiguous=True) from exc
        return Sent(provider_id=str(created.sid), detail=str(created.status or ""))

    def find_sent(self, msg: Outgoing) -> str | None:
        """The SID of a message with this body sent to this recipient from our number since the first attempt."""
        if not msg.sender:
            return None
        since = (msg.attempt_started_at or dt.datetime.now(dt.UTC)) - LOOKUP_SKEW
        to, sender = _address(msg.channel, msg.to), _address(msg.channel, msg.sender)
        try:
            # Newest first; Twilio's DateSent filter is whole days and misses queued messages, so filter here.
            for message in self.client.messages.stream(to=to, from_=sender, limit=LOOKUP_LIMIT):
                created = message.date_created
                if created is not None and created < since:
                    break
                if str(message.sid) in msg.known_provider_ids:
                    continue
                body = message.body or ""
                # Trial accounts prefix the body ("Sent from your Twilio trial account - "); a template's body
                # is Twilio's rendering, which holds our variable somewhere inside.
                if body == msg.body or body.endswith(msg.body) or (msg.content_sid and msg.body in body):
                    return str(message.sid)
        except TwilioRestException as exc:
            raise TransientSendError(f"Twilio lookup failed: {exc.status} {exc.msg}", code=exc.code) from exc
        except (requests.RequestException, TwilioException) as exc:
            raise TransientSendError(f"Twilio lookup failed: {exc}") from exc
        return None

    def close(self) -> None:
        if self.http_client.session is not None:
            self.http_client.session.close()


def _classify(exc: TwilioRestException) -> Exception:
    text = f"Twilio {exc.status} error {exc.code}: {exc.msg}"
    if exc.code == OPTED_OUT:
        return OptedOut(text, code=exc.code)
    if exc.status == 429:
        return TransientSendError(text, code=exc.code)
    if exc.status >= 500:
        # The request reached Twilio; whether a message was created is unknown.
        return TransientSendError(text, code=exc.code, ambiguous=True)
    return PermanentSendError(text, code=exc.code)
