"""Four outbox relays racing over 1,000 rows with FOR UPDATE SKIP LOCKED, one SIGKILLed while Twilio already
holds the message it was sending: every row is sent, and Twilio receives each message exactly once."""

from __future__ import annotations

import collections
import datetime as dt
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from chat2order.tables import OutboundMessage
from tests import factories as f
from tests.helpers.twilio_standin import StoredMessage, TwilioStandIn

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.timeout(120)]
ROWS = 1000
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def twilio() -> Iterator[TwilioStandIn]:
    with TwilioStandIn() as standin:
        yield standin


def _insert_rows(maker: sessionmaker[Session]) -> None:
    order = f.OrderFactory(status="confirmed")  # its supplier's inbound number is the sending number
    old = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    with maker() as session, session.begin():
        session.execute(
            insert(OutboundMessage),
            [
                {"channel": "sms", "recipient": f"+1555{7_000_000 + n:07d}", "body": f"race message {n}", "purpose": "notice",
                     "idempotency_key": f"race:{n}", "status": "pending", "attempts": 0, "attachments": [], "order_id": order.id,
                     "created_at": old}
                for n in range(ROWS)
            ],
        )


def test_four_relays_one_killed_mid_send_deliver_every_row_exactly_once(
    committed_pg: sessionmaker[Session], pg_url: str, twilio: TwilioStandIn, tmp_path: Path
) -> None:
    _insert_rows(committed_pg)
    victim_holds = threading.Event()
    held: list[StoredMessage] = []

    def hold_the_victims_send(message: StoredMessage) -> float:
        # Once racer 0 is well into the race, Twilio stores its message and then stalls the reply: the kill lands
        # between Twilio's acceptance and the racer's "sent" commit.
        if "racer/0" in message.user_agent and len(twilio.messages) > 200 and not victim_holds.is_set():
            held.append(message)
            victim_holds.set()
            return 10.0
        return 0.0

    twilio.response_delay = hold_the_victims_send
    env = {**os.environ, "DATABASE_URL": pg_url, "TWILIO_ACCOUNT_SID": twilio.account_sid,
           "TWILIO_AUTH_TOKEN": twilio.auth_token, "TWILIO_API_BASE": twilio.base_url, "DISPATCH_LEASE_SECONDS": "2",
           "OUTBOX_DIR": str(tmp_path), "RACER_SECONDS": "90", "PYTHONPATH": str(REPO)}
    racers = [
        subprocess.Popen([sys.executable, "-m", "tests.e2e.relay_racer", str(n)], env=env, cwd=REPO,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for n in range(4)
    ]
    try:
        assert victim_holds.wait(timeout=60), "racer 0 never reached the held send"
        racers[0].send_signal(signal.SIGKILL)
        results = [racer.wait(timeout=100) for racer in racers]
    finally:
        for racer in racers:
            if racer.poll() is None:
                racer.kill()
                racer.wait()
    assert results[0] == -signal.SIGKILL
    assert results[1:] == [0, 0, 0], [racer.stderr.read().decode()[-2000:] for racer in racers[1:] if racer.stderr]
    per_body = collections.Counter(message.body for message in twilio.messages)
    assert len(per_body) == ROWS and set(per_body.values()) == {1}
    with committed_pg() as session:
        statuses = collections.Counter(session.scalars(select(OutboundMessage.status)))
        recovered = session.scalar(select(OutboundMessage.provider_id).where(OutboundMessage.body == held[0].body))
    assert statuses == {"sent": ROWS}
    assert recovered == held[0].sid  # found by the lookup after the kill, not sent a second time
