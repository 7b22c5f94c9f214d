"""Outbound status callbacks reach `delivery_status.record` only when signed."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from tests import factories
from tests.integration.twilio_support import TwilioApp, build, load_form

pytestmark = pytest.mark.postgres


@pytest.fixture
def twilio_app(pg_engine: Engine, committed_pg: sessionmaker[Session]) -> TwilioApp:
    return build(pg_engine, committed_pg)


def test_delivered_callback_updates_the_outbox_row(twilio_app: TwilioApp) -> None:
    pytest.importorskip("chat2order.ordering.delivery_status")
    row = factories.OutboundMessageFactory(
        channel="sms", recipient="+12125550199", status="sent", provider_id="SM1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c"
    )

    response = twilio_app.post("/twilio/status", load_form("status_delivered"))

    assert response.status_code == 200
    [stored] = [r for r in twilio_app.outbox() if r.id == row.id]
    assert stored.status == "delivered"


def test_unsigned_status_callback_is_refused(twilio_app: TwilioApp) -> None:
    row = factories.OutboundMessageFactory(status="sent", provider_id="SM1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c")

    response = twilio_app.client.post("/twilio/status", data=dict(load_form("status_delivered")))

    assert response.status_code == 403
    assert [r.status for r in twilio_app.outbox() if r.id == row.id] == ["sent"]


def test_status_callback_without_a_status_is_a_bad_request(twilio_app: TwilioApp) -> None:
    form = [(k, v) for k, v in load_form("status_delivered") if k not in ("MessageStatus", "SmsStatus")]

    response = twilio_app.post("/twilio/status", form)

    assert response.status_code == 400
