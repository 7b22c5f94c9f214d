"""Logs carry the message and order ids of the work in progress; metrics render for Prometheus."""

from __future__ import annotations

import json
import logging

from chat2order import metrics
from chat2order.observability import JsonFormatter, TextFormatter, _ContextFilter, log_context


def _record(msg: str = "parsed") -> logging.LogRecord:
    record = logging.LogRecord("chat2order.test", logging.INFO, __file__, 1, msg, None, None)
    _ContextFilter().filter(record)
    return record


def test_json_log_line_carries_the_ids_of_the_current_message() -> None:
    with log_context(message_id=42, channel="sms"), log_context(order_id=7):
        line = JsonFormatter().format(_record())
    data = json.loads(line)
    assert data["message_id"] == 42 and data["order_id"] == 7 and data["channel"] == "sms"
    assert data["msg"] == "parsed" and data["level"] == "info"


def test_log_context_is_dropped_when_the_block_ends() -> None:
    with log_context(message_id=1):
        pass
    assert "message_id" not in json.loads(JsonFormatter().format(_record()))


def test_text_log_line_is_readable_with_fields_at_the_end() -> None:
    with log_context(outbox_id=9):
        line = TextFormatter().format(_record("sent"))
    assert "sent" in line and line.endswith("outbox_id=9")


def test_metrics_render_the_inbound_counter() -> None:
    metrics.INBOUND.labels("sms", "stored").inc()
    body, content_type = metrics.render()
    assert b'chat2order_inbound_messages_total{channel="sms",outcome="stored"}' in body
    assert content_type.startswith("text/plain")
