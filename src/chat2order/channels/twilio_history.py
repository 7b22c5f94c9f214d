"""Twilio's message log as a channel: inbound SMS/WhatsApp read back through the REST API.

While our database is down the webhook answers 503 and Twilio tries its fallback URL; whatever neither
stored is still in Twilio's log. `TwilioHistory.inbound(number, since)` lists the messages sent to one of
our numbers (`client.messages.stream(to=..., date_sent_after=...)`, which follows `next_page_uri` page by
page) and turns each inbound one into the same `intake.Incoming` the webhook makes, so routing and the
(channel, MessageSid) idempotency are shared: a message already stored by its webhook is a duplicate.

Twilio's `DateSent>` filter may be coarser than the instant asked for (whole days are documented), so the
messages are filtered here too; the list is newest first, so reading stops at the first older one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

from twilio.rest import Client

from chat2order import phones
from chat2order.config import Settings
from chat2order.notify.twilio_sender import ApiBaseHttpClient
from chat2order.ordering.intake import Incoming

PAGE_SIZE = 100


class TwilioHistory:
    """Reads inbound messages from Twilio's Messages list (real API, or the tests' stand-in)."""

    def __init__(
        self, account_sid: str, auth_token: str, *, api_base: str = "", page_size: int = PAGE_SIZE,
        timeout: float = 15.0,
    ) -> None:
        self.http_client = ApiBaseHttpClient(api_base, timeout=timeout)
        self.client = Client(account_sid, auth_token, http_client=self.http_client)
        self.page_size = page_size

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> TwilioHistory:
        return cls(settings.twilio_account_sid, settings.twilio_auth_token, api_base=settings.twilio_api_base,
                   **kwargs)

    def inbound(self, number: str, since: dt.datetime) -> Iterator[Incoming]:
        """Inbound messages to `number` (E.164, or `whatsapp:+...`) sent at or after `since`, newest first.

        Twilio and network errors propagate (`TwilioRestException`, `requests` errors): the caller keeps
        its watermark and tries again next time.
        """
        for message in self.client.messages.stream(to=number, date_sent_after=since, page_size=self.page_size):
            sent = message.date_sent or message.date_created
            if sent is not None and sent < since:
                break
            if message.direction != "inbound":
                continue
            yield to_incoming(message, sent)

    def close(self) -> None:
        if self.http_client.session is not None:
            self.http_client.session.close()


def to_incoming(message: Any, sent: dt.datetime | None) -> Incoming:
    """A Twilio Message resource as the webhook would have handed it to intake (`meta["reconciled"]`)."""
    sender = str(message.from_ or "")
    sid = str(message.sid)
    num_media = int(message.num_media or 0)
    meta: dict[str, Any] = {"reconciled": True}
    for key, value in (
        ("account_sid", message.account_sid),
        ("messaging_service_sid", message.messaging_service_sid),
        ("num_segments", message.num_segments),
    ):
        if value:
            meta[key] = str(value)
    if num_media:
        # The list does not carry media URLs; the message's Media list is where a person finds them.
        media_list = (message.subresource_uris or {}).get("media") or f"{message.uri.removesuffix('.json')}/Media.json"
        meta["media"] = [{"url": f"https://api.twilio.com{media_list}", "content_type": ""}] * min(num_media, 10)
    form = [("MessageSid", sid), ("AccountSid", str(message.account_sid or "")), ("From", sender),
            ("To", str(message.to or "")), ("Body", str(message.body or "")), ("NumMedia", str(num_media))]
    return Incoming(
        channel="whatsapp" if phones.is_whatsapp(sender) else "sms",
        provider_id=sid,
        sender=sender,
        recipient=message.to,
        body=str(message.body or ""),
        raw=urlencode(form),
        received_at=sent,
        meta=meta,
    )
