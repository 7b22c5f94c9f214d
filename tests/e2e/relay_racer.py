"""One outbox relay process for the race test (`python -m tests.e2e.relay_racer NAME`, settings from the env).

It claims rows with `relay_pending` (FOR UPDATE SKIP LOCKED, a handful at a time) and delivers each one at
once through the real Twilio sender, until no row is left to send or its deadline passes.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import time

from sqlalchemy import func, select

from chat2order.config import Settings
from chat2order.db import make_engine
from chat2order.notify import Senders
from chat2order.notify.chat_sender import ChatStoreSender
from chat2order.notify.file_sender import FileSender
from chat2order.notify.twilio_sender import TwilioSender
from chat2order.ordering import dispatch
from chat2order.runtime import Runtime
from chat2order.tables import OutboundMessage


class DeliverNow:
    def __init__(self) -> None:
        self.rt: Runtime | None = None

    def enqueue(self, job_name: str, *ids: int) -> None:
        assert self.rt is not None and job_name == "deliver"
        try:
            dispatch.deliver(self.rt, ids[0])
        except dispatch.DeliveryDeferred:
            pass  # another racer holds it, or it failed transiently: the relay comes back to it


def main(name: str) -> None:
    settings = Settings.from_env()
    engine = make_engine(settings.database_url, pool_size=2, max_overflow=2)
    sender = TwilioSender(settings.twilio_account_sid, settings.twilio_auth_token, api_base=settings.twilio_api_base)
    sender.client.user_agent_extensions = [f"racer/{name}"]
    queue = DeliverNow()
    rt = Runtime(settings, engine=engine, queue=queue,
                 senders=Senders(sms=sender, email=FileSender(settings.outbox_dir), chat=ChatStoreSender()))
    queue.rt = rt
    deadline = time.monotonic() + float(os.environ.get("RACER_SECONDS", "60"))
    while time.monotonic() < deadline:
        claimed = dispatch.relay_pending(rt, older_than=dt.timedelta(0), requeue_after=dt.timedelta(seconds=2), limit=5)
        if claimed:
            continue
        with rt.sessionmaker() as session:
            left = session.scalar(
                select(func.count()).select_from(OutboundMessage).where(OutboundMessage.status.not_in(dispatch.DONE))
            )
        if not left:
            return
        time.sleep(0.2)
    sys.exit(f"racer {name}: deadline passed")


if __name__ == "__main__":
    main(sys.argv[1])
