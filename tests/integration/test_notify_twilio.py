"""SMS/WhatsApp through the real twilio client against a local stand-in of Twilio's REST API."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from chat2order.notify import OptedOut, Outgoing, PermanentSendError, TransientSendError
from chat2order.notify.twilio_sender import TwilioSender
from tests.helpers.twilio_standin import TwilioStandIn

CHEF, NUMBER = "+15550001111", "+15559990000"


@pytest.fixture
def twilio() -> Iterator[TwilioStandIn]:
    with TwilioStandIn() as standin:
        yield standin


def _sender(twilio: TwilioStandIn, **kwargs: object) -> TwilioSender:
    return TwilioSender(twilio.account_sid, twilio.auth_token, api_base=twilio.base_url,
                        public_base_url="https://app.example", **kwargs)  # type: ignore[arg-type]


def _sms(body: str = "Order C2O-1 confirmed", channel: str = "sms", outbox_id: int = 5) -> Outgoing:
    return Outgoing(outbox_id=outbox_id, channel=channel, to=CHEF, sender=NUMBER, body=body,
                    attempt_started_at=dt.datetime.now(dt.UTC))


def test_sms_is_created_through_the_rest_api_with_a_status_callback_naming_the_outbox_row(twilio: TwilioStandIn) -> None:
    sent = _sender(twilio).send(_sms())
    [message] = twilio.messages
    assert (message.sid, message.to, message.from_, message.body) == (sent.provider_id, CHEF, NUMBER, "Order C2O-1 confirmed")
    assert message.status_callback == "https://app.example/twilio/status?ob=5"


def test_whatsapp_numbers_get_the_whatsapp_prefix(twilio: TwilioStandIn) -> None:
    _sender(twilio).send(_sms(channel="whatsapp"))
    assert (twilio.messages[0].to, twilio.messages[0].from_) == (f"whatsapp:{CHEF}", f"whatsapp:{NUMBER}")


def test_error_21610_is_opted_out(twilio: TwilioStandIn) -> None:
    twilio.opted_out.add(CHEF)
    with pytest.raises(OptedOut) as caught:
        _sender(twilio).send(_sms())
    assert caught.value.code == 21610


def test_a_body_over_1600_characters_is_refused_before_calling_twilio(twilio: TwilioStandIn) -> None:
    with pytest.raises(PermanentSendError):
        _sender(twilio).send(_sms(body="x" * 1601))
    assert twilio.requests == []


def test_bad_credentials_are_permanent(twilio: TwilioStandIn) -> None:
    sender = TwilioSender(twilio.account_sid, "wrong", api_base=twilio.base_url)
    with pytest.raises(PermanentSendError):
        sender.send(_sms())


def test_rate_limited_is_transient_and_certainly_not_sent(twilio: TwilioStandIn) -> None:
    twilio.fail_next_creates(1, status=429, code=20429)
    with pytest.raises(TransientSendError) as caught:
        _sender(twilio).send(_sms())
    assert caught.value.ambiguous is False


def test_a_server_error_is_transient_and_ambiguous(twilio: TwilioStandIn) -> None:
    twilio.fail_next_creates(1, status=500)
    with pytest.raises(TransientSendError) as caught:
        _sender(twilio).send(_sms())
    assert caught.value.ambiguous is True


def test_a_timeout_after_twilio_stored_the_message_is_ambiguous(twilio: TwilioStandIn) -> None:
    twilio.response_delay = lambda _m: 2.0
    with pytest.raises(TransientSendError) as caught:
        _sender(twilio, timeout=0.3).send(_sms())
    assert caught.value.ambiguous is True
    assert len(twilio.messages) == 1


def test_find_sent_returns_the_sid_of_the_same_body_sent_to_the_same_number(twilio: TwilioStandIn) -> None:
    sender = _sender(twilio)
    sent = sender.send(_sms())
    sender.send(_sms(body="something else"))
    assert sender.find_sent(_sms()) == sent.provider_id


def test_find_sent_skips_sids_that_belong_to_other_outbox_rows(twilio: TwilioStandIn) -> None:
    sender = _sender(twilio)
    first = sender.send(_sms(outbox_id=1))
    probe = Outgoing(**{**_sms(outbox_id=2).__dict__, "known_provider_ids": frozenset({first.provider_id})})
    assert sender.find_sent(probe) is None


def test_find_sent_ignores_messages_created_before_the_row_existed(twilio: TwilioStandIn) -> None:
    sender = _sender(twilio)
    sender.send(_sms())
    later = Outgoing(**{**_sms().__dict__, "attempt_started_at": dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)})
    assert sender.find_sent(later) is None


def test_find_sent_pages_through_the_list(twilio: TwilioStandIn) -> None:
    sender = _sender(twilio)
    target = sender.send(_sms(body="the one"))
    for n in range(60):
        sender.send(_sms(body=f"noise {n}"))
    assert sender.find_sent(_sms(body="the one")) == target.provider_id
