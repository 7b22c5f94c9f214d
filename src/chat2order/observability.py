"""Logging, metrics and error reporting, set up once per process by its entry point.

Logs are JSON lines in production (`LOG_FORMAT=json`) and readable text in a terminal. Every record carries
the inbound message id and order id of the work in progress (`log_context`), so one message can be followed
from webhook through worker to the dispatched order sheet with a single grep. Sentry is on only when
`SENTRY_DSN` is set.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import sys
import time
from collections.abc import Iterator
from typing import Any

from chat2order.config import Settings

# The default is never mutated: `log_context` always sets a new dict.
_context: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("chat2order_log_context", default={})  # noqa: B039
_CONFIGURED = False


@contextlib.contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Attach fields (message_id, order_id, outbox_id, channel...) to every log record inside the block."""
    token = _context.set({**_context.get(), **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _context.reset(token)


def current_context() -> dict[str, Any]:
    return dict(_context.get())


class _ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.ctx = _context.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            **getattr(record, "ctx", {}),
        }
        extra = getattr(record, "data", None)
        if isinstance(extra, dict):
            payload.update(extra)
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = {**getattr(record, "ctx", {}), **(getattr(record, "data", None) or {})}
        if fields:
            line += "  " + " ".join(f"{k}={v}" for k, v in fields.items())
        return line


def configure(settings: Settings, process: str, level: int = logging.INFO) -> None:
    """Configure logging (and Sentry when configured) for this process. Safe to call more than once."""
    global _CONFIGURED
    root = logging.getLogger()
    if not _CONFIGURED:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter() if settings.log_format == "json" else TextFormatter())
        handler.addFilter(_ContextFilter())
        root.addHandler(handler)
        root.setLevel(level)
        for noisy in ("urllib3", "twilio.http_client", "mail.log", "fontTools"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
        _CONFIGURED = True
    if settings.sentry_dsn:
        _init_sentry(settings, process)


def _init_sentry(settings: Settings, process: str) -> None:
    import sentry_sdk
    from sentry_sdk.integrations.flask import FlaskIntegration
    from sentry_sdk.integrations.rq import RqIntegration

    sentry_sdk.init(
        dsn=settings.sentry_dsn,
        integrations=[FlaskIntegration(), RqIntegration()],
        server_name=process,
        traces_sample_rate=0.0,
        send_default_pii=False,
    )
