"""A `Runtime` around the test's database, a queue that records what was enqueued, and chosen senders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from chat2order.config import Settings
from chat2order.jobs import RecordingQueue
from chat2order.notify import Sender, Senders
from chat2order.notify.chat_sender import ChatStoreSender
from chat2order.notify.file_sender import FileSender
from chat2order.runtime import Runtime


def make_runtime(
    engine: Engine,
    maker: sessionmaker[Session],
    outbox_dir: Path,
    *,
    sms: Sender | None = None,
    email: Sender | None = None,
    lease_seconds: int = 60,
    **settings: Any,
) -> tuple[Runtime, RecordingQueue]:
    files = FileSender(outbox_dir)
    senders = Senders(sms=sms or files, email=email or files, chat=ChatStoreSender())
    config = Settings(outbox_dir=outbox_dir, dispatch_lease_seconds=lease_seconds, mail_from="orders@c2o.test",
                      mail_domains=("c2o.test",), **settings)
    queue = RecordingQueue()
    return Runtime(config, engine=engine, sessionmaker=maker, queue=queue, senders=senders), queue
