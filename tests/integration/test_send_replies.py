"""The processing job sends the chef's confirmation itself; the supplier's sheet keeps its own job."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select

from chat2order.notify import Outgoing, Senders, Sent, TransientSendError
from chat2order.notify.chat_sender import ChatStoreSender
from chat2order.notify.file_sender import FileSender
from chat2order.ordering import dispatch
from chat2order.ordering.processing import process_message
from chat2order.tables import OutboundMessage
from tests.helpers.ordering import inbound, kitchen, runtime, statements_run

pytestmark = pytest.mark.postgres

ORDER_TEXT = "2 cs roma tomatoes, 1 case lemons for tomorrow"


class FlakySender:
    name = "flaky"
    resend_is_deduplicated = False

    def send(self, msg: Outgoing) -> Sent:
        raise TransientSendError("provider hiccup")

    def find_sent(self, msg: Outgoing) -> str | None:
        return None


class RecordingSender:
    name = "recording"
    resend_is_deduplicated = False

    def __init__(self) -> None:
        self.sent: list[Outgoing] = []

    def send(self, msg: Outgoing) -> Sent:
        self.sent.append(msg)
        return Sent(provider_id=f"rec-{msg.outbox_id}")

    def find_sent(self, msg: Outgoing) -> str | None:
        return None


def _rows(maker: Any) -> dict[str, OutboundMessage]:
    with maker() as session:
        return {row.purpose: row for row in session.scalars(select(OutboundMessage))}


def test_the_confirmation_is_sent_by_the_processing_job_itself(committed_pg: Any, tmp_path: Path) -> None:
    rt = runtime(committed_pg, tmp_path)
    process_message(rt, inbound(kitchen(), ORDER_TEXT).id, send_replies=True)

    confirmation = _rows(committed_pg)["confirmation"]
    assert confirmation.status == "sent"
    assert (tmp_path / "outbox" / f"outbox-{confirmation.id:08d}.json").exists()
    assert rt.queue.enqueued == []


def test_the_suppliers_sheet_keeps_its_own_deliver_job(committed_pg: Any, tmp_path: Path) -> None:
    rt = runtime(committed_pg, tmp_path)
    process_message(rt, inbound(kitchen(auto_confirm=True), ORDER_TEXT).id, send_replies=True)

    rows = _rows(committed_pg)
    assert (rows["confirmation"].status, rows["order_sheet"].status) == ("sent", "pending")
    assert rt.queue.enqueued == [("deliver", (rows["order_sheet"].id,))]


def test_a_send_that_fails_for_now_is_left_to_the_relay_at_its_retry_time(committed_pg: Any, tmp_path: Path) -> None:
    files = FileSender(tmp_path / "outbox")
    rt = runtime(committed_pg, tmp_path, senders=Senders(sms=FlakySender(), email=files, chat=ChatStoreSender()))
    process_message(rt, inbound(kitchen(), ORDER_TEXT).id, send_replies=True)

    confirmation = _rows(committed_pg)["confirmation"]
    assert (confirmation.status, confirmation.attempts) == ("pending", 1)
    assert rt.queue.enqueued == []
    due = confirmation.next_attempt_at + dt.timedelta(seconds=1)  # type: ignore[operator]
    assert dispatch.relay_pending(rt, now=due) == 1
    assert rt.queue.enqueued == [("deliver", (confirmation.id,))]


def test_an_unexpected_error_while_sending_falls_back_to_a_deliver_job(
    committed_pg: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(rt: Any, outbox_id: int, **_: Any) -> None:
        raise RuntimeError("database connection lost")

    monkeypatch.setattr(dispatch, "deliver", broken)
    rt = runtime(committed_pg, tmp_path)
    process_message(rt, inbound(kitchen(), ORDER_TEXT).id, send_replies=True)

    confirmation = _rows(committed_pg)["confirmation"]
    assert confirmation.status == "pending"
    assert rt.queue.enqueued == [("deliver", (confirmation.id,))]


def test_called_as_a_service_it_only_queues(committed_pg: Any, tmp_path: Path) -> None:
    rt = runtime(committed_pg, tmp_path)
    process_message(rt, inbound(kitchen(), ORDER_TEXT).id)
    confirmation = _rows(committed_pg)["confirmation"]
    assert (confirmation.status, rt.queue.enqueued) == ("pending", [("deliver", (confirmation.id,))])


def test_sending_a_confirmation_takes_one_statement_to_claim_and_one_to_record(
    committed_pg: Any, tmp_path: Path
) -> None:
    chat = RecordingSender()
    files = FileSender(tmp_path / "outbox")
    rt = runtime(committed_pg, tmp_path, senders=Senders(sms=files, email=files, chat=chat))
    k = kitchen()
    process_message(rt, inbound(k, ORDER_TEXT, channel="chat").id)
    confirmation = _rows(committed_pg)["confirmation"]
    autocommit: list[bool] = []
    engine = committed_pg.kw["bind"]

    def record(conn: Any, *args: Any) -> None:
        autocommit.append(conn.connection.driver_connection.autocommit)

    event.listen(engine, "before_cursor_execute", record)
    try:
        with statements_run(committed_pg) as statements:
            dispatch.deliver(rt, confirmation.id)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert _rows(committed_pg)["confirmation"].status == "sent"
    # Claim: one UPDATE to `sending` that returns the row and the sender's address (the chat channel reads it
    # from the order's supplier); after the send, one fenced UPDATE to `sent`. Before: a locked read, three
    # lazy loads and an UPDATE, then a second locked read and UPDATE. Each is a transaction on its own, run in
    # autocommit: no BEGIN and COMMIT round trips around it.
    assert len(statements) == 2, statements
    assert autocommit == [True, True]
    sent = _rows(committed_pg)["confirmation"]
    assert (sent.attempts, sent.next_attempt_at) == (1, None)
    assert [(msg.outbox_id, msg.sender) for msg in chat.sent] == [(sent.id, k.supplier.inbound_phone)]
