"""Email through the SMTP relay: STARTTLS required, AUTH, MIME built with the stdlib, errors classified."""

from __future__ import annotations

import pytest

from chat2order.notify import Attachment, Outgoing, PermanentSendError, TransientSendError
from chat2order.notify.smtp_sender import RelayConfig, SmtpSender
from tests.helpers.smtp_sink import SmtpSink


def _email(**changes: object) -> Outgoing:
    fields: dict[str, object] = {
        "outbox_id": 11,
        "channel": "email",
        "to": "orders@supplier.example",
        "sender": "orders@c2o.test",
        "subject": "Order C2O-11",
        "body": "2 case tomatoes",
        "html": "<p>2 case tomatoes</p>",
        "attachments": (Attachment("C2O-11.csv", "text/csv", b"sku,qty\r\n"), Attachment("C2O-11.pdf", "application/pdf", b"%PDF-1.4")),
        "message_id": "<c2o.11.abc@c2o.test>",
    }
    fields.update(changes)
    return Outgoing(**fields)  # type: ignore[arg-type]


def test_relay_url_defaults_to_required_starttls_on_587() -> None:
    assert RelayConfig.parse("smtp://u:p%40ss@mail.example") == RelayConfig("mail.example", 587, "starttls", "u", "p@ss")


def test_smtps_url_means_implicit_tls_on_465() -> None:
    assert RelayConfig.parse("smtps://mail.example").tls == "ssl"
    assert RelayConfig.parse("smtps://mail.example").port == 465


def test_email_reaches_the_relay_over_starttls_with_auth_as_html_text_and_attachments() -> None:
    with SmtpSink(tls=True, username="relay", password="s3cret") as sink:
        sent = SmtpSender.from_url(sink.relay_url).send(_email())
        [mail] = sink.received
    message = mail.message
    assert mail.rcpt_tos == ("orders@supplier.example",)
    assert message["Message-ID"] == sent.provider_id == "<c2o.11.abc@c2o.test>"
    assert [p.get_content_type() for p in message.walk()] == [
        "multipart/mixed", "multipart/alternative", "text/plain", "text/html", "text/csv", "application/pdf"
    ]


def test_a_relay_without_starttls_is_refused_rather_than_sent_in_clear() -> None:
    with SmtpSink(tls=False) as sink:
        url = sink.relay_url.replace("?tls=none", "")
        with pytest.raises(PermanentSendError, match="STARTTLS"):
            SmtpSender.from_url(url).send(_email())
        assert sink.received == []


def test_wrong_credentials_are_a_permanent_failure() -> None:
    with SmtpSink(tls=True, username="relay", password="s3cret") as sink, pytest.raises(PermanentSendError):
        SmtpSender.from_url(sink.relay_url.replace("s3cret", "wrong")).send(_email())


def test_an_unreachable_relay_is_transient_and_not_ambiguous() -> None:
    port = SmtpSink().port  # a free port nobody listens on
    with pytest.raises(TransientSendError) as caught:
        SmtpSender.from_url(f"smtp://127.0.0.1:{port}?tls=none", timeout=2).send(_email())
    assert caught.value.ambiguous is False


def test_a_connection_lost_while_waiting_for_the_data_reply_is_ambiguous() -> None:
    with SmtpSink(data_delay=lambda _m: 3.0) as sink:
        with pytest.raises(TransientSendError) as caught:
            SmtpSender.from_url(sink.relay_url, timeout=0.5).send(_email())
        assert caught.value.ambiguous is True
        assert len(sink.wait_for(1)) == 1  # the relay had it: why a resend keeps the same Message-ID


def test_messages_in_a_row_share_one_connection_with_its_tls_and_auth() -> None:
    with SmtpSink(tls=True, username="relay", password="s3cret") as sink:
        sender = SmtpSender.from_url(sink.relay_url)
        for n in range(3):
            sender.send(_email(outbox_id=n, message_id=f"<c2o.{n}@c2o.test>"))
        sender.close()
        mails = sink.wait_for(3)
    assert [m.message_id for m in mails] == ["<c2o.0@c2o.test>", "<c2o.1@c2o.test>", "<c2o.2@c2o.test>"]
    assert len({m.peer for m in mails}) == 1


def test_a_connection_idle_too_long_is_not_reused() -> None:
    with SmtpSink() as sink:
        sender = SmtpSender(RelayConfig.parse(sink.relay_url), idle_seconds=0.0)
        sender.send(_email(message_id="<c2o.a@c2o.test>"))
        sender.send(_email(message_id="<c2o.b@c2o.test>"))
        mails = sink.wait_for(2)
    assert len({m.peer for m in mails}) == 2


def test_a_kept_connection_the_relay_closed_is_replaced_and_the_message_sent_once() -> None:
    sink = SmtpSink().start()
    try:
        sender = SmtpSender.from_url(sink.relay_url)
        sender.send(_email(message_id="<c2o.a@c2o.test>"))
        port = sink.port
        sink.stop()  # the relay restarts: the connection the sender kept is gone
        sink = SmtpSink(port=port).start()
        sender.send(_email(message_id="<c2o.b@c2o.test>"))
        assert [m.message_id for m in sink.wait_for(1)] == ["<c2o.b@c2o.test>"]
    finally:
        sink.stop()


def test_a_refusal_on_a_kept_connection_is_still_a_refusal() -> None:
    with SmtpSink(refuse_rcpt=lambda rcpt: rcpt.startswith("gone@")) as sink:
        sender = SmtpSender.from_url(sink.relay_url)
        sender.send(_email())
        with pytest.raises(PermanentSendError, match="550"):
            sender.send(_email(to="gone@supplier.example"))
        sender.send(_email(message_id="<c2o.after@c2o.test>"))  # and the sender goes on with a new connection
        assert sink.wait_for(2)[-1].message_id == "<c2o.after@c2o.test>"
