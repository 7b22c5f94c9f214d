"""PostgreSQL faults at the receivers (issue 6 "Faults"): connections killed under traffic, database unreachable.

- Every backend of the test database terminated (`pg_terminate_backend`) while webhooks keep arriving: each
  request answers 200 (stored) or 503 (Twilio retries / uses its fallback), never a 500, and the first
  request after the kills succeeds because the pool pre-pings the connections it hands out.
- The database unreachable (an engine pointed at a closed port): the Twilio webhook answers 5xx and nothing
  is stored or queued; the SMTP handler answers 451 so the sending server keeps the mail and retries.
"""

from __future__ import annotations

import smtplib
import socket
import threading
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from chat2order.channels.email_auth import StaticResolver
from chat2order.channels.twilio import sign
from chat2order.config import Settings
from chat2order.db import make_engine, session_factory
from chat2order.jobs import RecordingQueue
from chat2order.runtime import Runtime
from chat2order.tables import InboundMessage
from tests.factories import ContactFactory, SupplierFactory
from tests.helpers.smtp_server import eml, running_smtp, send
from tests.integration.twilio_support import BASE, TOKEN, build, load_form

pytestmark = pytest.mark.postgres

DOMAIN = "chat2order.local"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _terminate_other_backends(pg_engine: Engine) -> int:
    """Kill every other connection to the test database, as a failover or an admin would."""
    with pg_engine.connect() as conn:
        killed = conn.execute(text(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )).scalar_one()
        conn.commit()
    return int(killed)


def _stored(maker: sessionmaker[Session], provider_ids: list[str] | None = None) -> int:
    with maker() as session:
        query = select(func.count()).select_from(InboundMessage)
        if provider_ids is not None:
            query = query.where(InboundMessage.provider_id.in_(provider_ids))
        return int(session.scalar(query) or 0)


@pytest.fixture
def own_engine(pg_url: str) -> Iterator[Engine]:
    """The app's own pool (as in production: `make_engine`, pre-ping on), separate from the fixtures' one."""
    engine = make_engine(pg_url)
    yield engine
    engine.dispose()


def _sms(sid: str, sender: str, recipient: str) -> list[tuple[str, str]]:
    return load_form("sms_order", MessageSid=sid, SmsSid=sid, SmsMessageSid=sid, From=sender, To=recipient)


def test_webhook_after_all_connections_were_terminated_succeeds(
    own_engine: Engine, committed_pg: sessionmaker[Session], pg_engine: Engine
) -> None:
    chef = ContactFactory()
    supplier = SupplierFactory()
    app = build(own_engine, session_factory(own_engine))
    assert app.post("/twilio/sms", _sms("SM" + "1" * 32, chef.phone, supplier.inbound_phone)).status_code == 200
    assert own_engine.pool.checkedin() >= 1  # a pooled connection that the kill below leaves dead

    assert _terminate_other_backends(pg_engine) >= 1

    response = app.post("/twilio/sms", _sms("SM" + "2" * 32, chef.phone, supplier.inbound_phone))
    assert response.status_code == 200
    assert _stored(committed_pg) == 2


def test_webhooks_while_connections_are_being_terminated_are_stored_once_or_refused_with_503(
    own_engine: Engine, committed_pg: sessionmaker[Session], pg_engine: Engine
) -> None:
    chef = ContactFactory()
    supplier = SupplierFactory()
    app = build(own_engine, session_factory(own_engine))
    sids = [f"SM{n:032x}" for n in range(1, 61)]
    statuses: dict[str, list[int]] = {sid: [] for sid in sids}
    stop = threading.Event()
    kills: list[int] = []

    def killer() -> None:
        while not stop.wait(0.02):
            kills.append(_terminate_other_backends(pg_engine))

    def sender(chunk: list[str]) -> None:
        client = app.app.test_client()
        for sid in chunk:
            for _ in range(5):  # Twilio's retry: a 5xx answer makes it deliver the same MessageSid again
                form = _sms(sid, chef.phone, supplier.inbound_phone)
                status = client.post(
                    "/twilio/sms", data=urlencode(form), content_type="application/x-www-form-urlencoded",
                    headers={"X-Twilio-Signature": sign(BASE + "/twilio/sms", form, TOKEN)},
                ).status_code
                statuses[sid].append(status)
                if status == 200:
                    break

    killing = threading.Thread(target=killer)
    senders = [threading.Thread(target=sender, args=(sids[i::4],)) for i in range(4)]
    killing.start()
    for thread in senders:
        thread.start()
    for thread in senders:
        thread.join()
    stop.set()
    killing.join()

    seen = {status for answers in statuses.values() for status in answers}
    assert seen <= {200, 503}, statuses
    assert sum(kills) > 0
    answered = [sid for sid, answers in statuses.items() if answers[-1] == 200]
    # Whatever Twilio was told 200 for is stored, and stored once (the unique key absorbs the retries).
    with committed_pg() as session:
        rows = session.execute(
            select(InboundMessage.provider_id, func.count()).group_by(InboundMessage.provider_id)
        ).all()
    per_sid = dict(rows)
    assert all(per_sid.get(sid) == 1 for sid in answered)
    assert all(count == 1 for count in per_sid.values())


def test_webhook_while_the_database_is_unreachable_answers_5xx_and_stores_nothing(
    committed_pg: sessionmaker[Session]
) -> None:
    chef = ContactFactory()
    supplier = SupplierFactory()
    down = make_engine(f"postgresql+psycopg://postgres@127.0.0.1:{_closed_port()}/nowhere")
    try:
        app = build(down, session_factory(down))
        response = app.post("/twilio/sms", _sms("SM" + "3" * 32, chef.phone, supplier.inbound_phone))
    finally:
        down.dispose()
    assert 500 <= response.status_code < 600
    assert response.status_code == 503 and response.headers.get("Retry-After")
    assert app.queue.enqueued == []
    assert _stored(committed_pg) == 0


def test_smtp_handler_answers_451_while_the_database_is_unreachable(
    committed_pg: sessionmaker[Session]
) -> None:
    SupplierFactory(slug="greenleaf")
    down = make_engine(f"postgresql+psycopg://postgres@127.0.0.1:{_closed_port()}/nowhere")
    queue = RecordingQueue()
    runtime = Runtime(Settings(mail_domains=(DOMAIN,), smtp_listen="127.0.0.1:0"), engine=down,
                      sessionmaker=sessionmaker(down), queue=queue)
    try:
        with running_smtp(runtime, auth_mode="off") as controller, pytest.raises(smtplib.SMTPDataError) as refused:
            send(controller.port, eml("d0079"), mail_from="maya@example.org", rcpt_tos=[f"orders+greenleaf@{DOMAIN}"])
    finally:
        down.dispose()
    assert refused.value.smtp_code == 451
    assert queue.enqueued == []
    assert _stored(committed_pg) == 0


def test_mail_after_all_connections_were_terminated_is_stored(
    own_engine: Engine, committed_pg: sessionmaker[Session], pg_engine: Engine
) -> None:
    SupplierFactory(slug="greenleaf")
    runtime = Runtime(Settings(mail_domains=(DOMAIN,), smtp_listen="127.0.0.1:0"), engine=own_engine,
                      sessionmaker=session_factory(own_engine), queue=RecordingQueue())
    with running_smtp(runtime, auth_mode="record", resolver=StaticResolver()) as controller:
        send(controller.port, eml("d0079"), mail_from="maya@example.org", rcpt_tos=[f"orders+greenleaf@{DOMAIN}"])
        assert _terminate_other_backends(pg_engine) >= 1
        send(controller.port, eml("d0306"), mail_from="kenji@example.org", rcpt_tos=[f"orders+greenleaf@{DOMAIN}"])
    assert _stored(committed_pg) == 2
