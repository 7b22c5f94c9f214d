"""Shared by the Twilio and intake tests: replay fixture payloads with real signatures through the app.

`twilio_app` builds a `Runtime` around the committed PostgreSQL test database with a `RecordingQueue`
(it records what would run after commit, so the tests see what was queued without running the parser).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from chat2order.channels.twilio import sign
from chat2order.config import Settings
from chat2order.jobs import RecordingQueue
from chat2order.runtime import Runtime
from chat2order.tables import InboundMessage, OutboundMessage
from chat2order.web import create_app

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "twilio"
TOKEN = "test-auth-token-0123456789abcdef"
BASE = "https://hooks.example.com"


def load_form(name: str, **overrides: str) -> list[tuple[str, str]]:
    """A fixture payload as (key, value) pairs, with some fields replaced."""
    text = (FIXTURES / f"{name}.form").read_text()
    pairs = parse_qsl("&".join(line for line in text.splitlines() if line.strip()), keep_blank_values=True)
    pairs = [(k, overrides.pop(k)) if k in overrides else (k, v) for k, v in pairs]
    return pairs + list(overrides.items())


@dataclass
class TwilioApp:
    app: Flask
    client: FlaskClient
    runtime: Runtime
    queue: RecordingQueue
    maker: sessionmaker[Session]
    base: str = BASE
    extra: dict[str, Any] = field(default_factory=dict)

    def post(
        self, path: str, form: list[tuple[str, str]], *, signed_url: str | None = None, token: str = TOKEN,
        headers: dict[str, str] | None = None,
    ) -> Any:
        url = signed_url if signed_url is not None else self.base + path
        all_headers = {"X-Twilio-Signature": sign(url, form, token), **(headers or {})}
        return self.client.post(
            path, data=urlencode(form), content_type="application/x-www-form-urlencoded", headers=all_headers
        )

    def messages(self) -> list[InboundMessage]:
        with self.maker() as session:
            return list(session.scalars(select(InboundMessage).order_by(InboundMessage.id)))

    def outbox(self) -> list[OutboundMessage]:
        with self.maker() as session:
            return list(session.scalars(select(OutboundMessage).order_by(OutboundMessage.id)))

    def count_messages(self) -> int:
        with self.maker() as session:
            return int(session.scalar(select(func.count()).select_from(InboundMessage)) or 0)


def build(pg_engine: Engine, maker: sessionmaker[Session], **settings: Any) -> TwilioApp:
    values: dict[str, Any] = {
        "database_url": str(pg_engine.url),
        "twilio_auth_token": TOKEN,
        "public_base_url": BASE,
        **settings,
    }
    queue = RecordingQueue()
    runtime = Runtime(Settings(**values), engine=pg_engine, sessionmaker=maker, queue=queue)
    app = create_app(runtime=runtime)
    app.testing = True
    return TwilioApp(app=app, client=app.test_client(), runtime=runtime, queue=queue, maker=maker)

