"""The embedded default sender: every outbound message becomes one JSON file in `OUTBOX_DIR`.

`outbox-<id>.json` holds at least `channel`, `to`, `body` and `attachments` (the file names written beside
it); for email the full RFC 5322 message is written beside it as `outbox-<id>.eml`, exactly what the SMTP
relay would have received. Files are named by the outbox id and written atomically (temporary file, then
rename), so a resend overwrites instead of duplicating: "one file per message", even after a crash.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from pathlib import Path

from chat2order.notify import Outgoing, PermanentSendError, Sent
from chat2order.notify.mime import build_email

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _safe_name(name: str) -> str:
    cleaned = _UNSAFE.sub("_", name).strip("._") or "attachment"
    return cleaned[:100]


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)


class FileSender:
    """Writes each message to the local outbox folder instead of sending it."""

    name = "file"
    resend_is_deduplicated = True

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def path_for(self, outbox_id: int) -> Path:
        return self.directory / f"outbox-{outbox_id:08d}.json"

    def send(self, msg: Outgoing) -> Sent:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise PermanentSendError(f"outbox folder {self.directory} is not writable: {exc}") from exc
        stem = f"outbox-{msg.outbox_id:08d}"
        attachment_names: list[str] = []
        for attachment in msg.attachments:
            file_name = f"{stem}-{_safe_name(attachment.filename)}"
            _write_atomic(self.directory / file_name, attachment.data)
            attachment_names.append(file_name)
        record: dict[str, object] = {
            "outbox_id": msg.outbox_id,
            "channel": msg.channel,
            "to": msg.to,
            "from": msg.sender,
            "subject": msg.subject,
            "body": msg.body,
            "attachments": attachment_names,
            "written_at": dt.datetime.now(dt.UTC).isoformat(),
        }
        if msg.html is not None:
            record["html"] = msg.html
        if msg.channel == "email":
            eml_name = f"{stem}.eml"
            _write_atomic(self.directory / eml_name, build_email(msg).as_bytes())
            record["eml"] = eml_name
            record["message_id"] = msg.message_id
        # The JSON is written last: its presence means the whole message is on disk (see find_sent).
        path = self.path_for(msg.outbox_id)
        _write_atomic(path, json.dumps(record, ensure_ascii=False, indent=2).encode("utf-8"))
        return Sent(provider_id=f"file:{path.name}")

    def find_sent(self, msg: Outgoing) -> str | None:
        path = self.path_for(msg.outbox_id)
        return f"file:{path.name}" if path.exists() else None
