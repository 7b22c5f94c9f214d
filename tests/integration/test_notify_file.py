"""The embedded default sender: one JSON file per outbound message in OUTBOX_DIR, plus the .eml for email."""

from __future__ import annotations

import json
from email import message_from_bytes, policy
from pathlib import Path

from chat2order.config import Settings
from chat2order.notify import Attachment, Outgoing, senders_from_settings
from chat2order.notify.file_sender import FileSender


def _email(outbox_id: int = 7) -> Outgoing:
    return Outgoing(
        outbox_id=outbox_id,
        channel="email",
        to="orders@supplier.example",
        sender="orders@c2o.test",
        subject="Order C2O-7",
        body="2 case tomatoes",
        html="<p>2 case tomatoes</p>",
        attachments=(Attachment("C2O-7.csv", "text/csv", b"sku,qty\r\nT1,2\r\n"), Attachment("../../evil.pdf", "application/pdf", b"%PDF-1.4")),
        message_id="<c2o.7.abc@c2o.test>",
    )


def test_sms_becomes_one_json_file_with_channel_to_body_and_attachments(tmp_path: Path) -> None:
    sender = FileSender(tmp_path)
    sent = sender.send(Outgoing(outbox_id=3, channel="sms", to="+15550001111", sender="+15559990000", body="hi"))
    record = json.loads((tmp_path / "outbox-00000003.json").read_text())
    assert {k: record[k] for k in ("channel", "to", "body", "attachments")} == {
        "channel": "sms", "to": "+15550001111", "body": "hi", "attachments": []
    }
    assert sent.provider_id == "file:outbox-00000003.json"


def test_email_writes_the_full_eml_and_its_attachments_beside_the_json(tmp_path: Path) -> None:
    FileSender(tmp_path).send(_email())
    record = json.loads((tmp_path / "outbox-00000007.json").read_text())
    eml = message_from_bytes((tmp_path / record["eml"]).read_bytes(), policy=policy.default)
    assert eml["Message-ID"] == "<c2o.7.abc@c2o.test>"
    assert [p.get_filename() for p in eml.iter_attachments()] == ["C2O-7.csv", "../../evil.pdf"]
    assert all((tmp_path / name).read_bytes() for name in record["attachments"])


def test_attachment_names_cannot_escape_the_outbox_folder(tmp_path: Path) -> None:
    FileSender(tmp_path / "out").send(_email())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert "outbox-00000007-evil.pdf" in {p.name for p in (tmp_path / "out").iterdir()}


def test_sending_the_same_outbox_row_twice_leaves_one_file(tmp_path: Path) -> None:
    sender = FileSender(tmp_path)
    sender.send(_email())
    sender.send(_email())
    assert len(list(tmp_path.glob("*.json"))) == 1


def test_find_sent_sees_a_message_already_written(tmp_path: Path) -> None:
    sender = FileSender(tmp_path)
    assert sender.find_sent(_email()) is None
    sender.send(_email())
    assert sender.find_sent(_email()) == "file:outbox-00000007.json"


def test_no_credentials_means_every_channel_goes_to_the_outbox_folder(tmp_path: Path) -> None:
    senders = senders_from_settings(Settings(outbox_dir=tmp_path))
    assert {senders.for_channel(c).name for c in ("sms", "whatsapp", "email")} == {"file"}


def test_credentials_choose_twilio_and_the_smtp_relay(tmp_path: Path) -> None:
    settings = Settings(outbox_dir=tmp_path, twilio_account_sid="AC1", twilio_auth_token="t",
                        smtp_relay_url="smtp://u:p@127.0.0.1:2525")
    senders = senders_from_settings(settings)
    assert (senders.for_channel("sms").name, senders.for_channel("email").name) == ("twilio", "smtp")
