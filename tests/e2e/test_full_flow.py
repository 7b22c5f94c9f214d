"""The whole chain as deployed (issue 5 "Done when"): a signed Twilio webhook in, parsed by a real
`chat2order worker` process, the confirmation SMS captured by the local Twilio REST stand-in, its signed
status callback recorded, the chef's "yes" in, and the supplier's order sheet email (CSV + PDF) received by
the local aiosmtpd sink exactly once.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from chat2order.channels.twilio import sign
from chat2order.config import Settings
from chat2order.jobs import RQQueue
from chat2order.runtime import Runtime
from chat2order.tables import Order, OutboundMessage
from chat2order.web import create_app
from tests import factories as f
from tests.e2e.test_order_to_sheet import Workers, wait_until
from tests.helpers.smtp_sink import SmtpSink
from tests.helpers.twilio_standin import TwilioStandIn
from tests.integration.twilio_support import BASE, TOKEN, load_form

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow, pytest.mark.timeout(180)]
SUPPLIER_EMAIL = "orders@produce.example"


@pytest.fixture
def twilio() -> Iterator[TwilioStandIn]:
    with TwilioStandIn(auth_token=TOKEN) as standin:
        yield standin


def _post(client, path: str, form: list[tuple[str, str]]) -> int:  # type: ignore[no-untyped-def]
    response = client.post(
        path,
        data=urlencode(form),
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": sign(BASE + path, form, TOKEN)},
    )
    return int(response.status_code)


def test_text_in_confirmation_out_yes_in_sheet_email_out_once(
    committed_pg: sessionmaker[Session], pg_engine, pg_url: str, redis_url: str, twilio: TwilioStandIn,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    supplier = f.SupplierFactory(auto_confirm=False, locale="en-US", currency="USD", order_email=SUPPLIER_EMAIL,
                                 order_phone=None, delivery_weekdays=[1, 2, 3, 4, 5, 6, 7])
    f.CatalogItemFactory(supplier=supplier, sku="TOM-25", name="Roma Tomatoes", pack="25 lb case", unit="case",
                         price=Decimal("32.50"))
    f.CatalogItemFactory(supplier=supplier, sku="CIL-1", name="Cilantro", pack="bunch", unit="bunch",
                         price=Decimal("1.25"))
    chef = f.ContactFactory(locale="en-US")
    f.AccountFactory(restaurant=chef.restaurant, supplier=supplier)

    settings = Settings(database_url=pg_url, redis_url=redis_url, twilio_account_sid=twilio.account_sid,
                        twilio_auth_token=TOKEN, public_base_url=BASE, outbox_dir=tmp_path / "outbox")
    rt = Runtime(settings, engine=pg_engine, sessionmaker=committed_pg, queue=RQQueue(redis_url))
    client = create_app(runtime=rt).test_client()

    with SmtpSink(tls=True) as sink:
        env = {**os.environ, "DATABASE_URL": pg_url, "REDIS_URL": redis_url, "SMTP_RELAY_URL": sink.relay_url,
               "TWILIO_ACCOUNT_SID": twilio.account_sid, "TWILIO_AUTH_TOKEN": TOKEN, "TWILIO_API_BASE": twilio.base_url,
               "PUBLIC_BASE_URL": BASE, "OUTBOX_DIR": str(tmp_path / "outbox"), "VAR_DIR": str(tmp_path),
               "MAIL_DOMAIN": "c2o.test", "LOG_FORMAT": "text"}
        workers = Workers(env, tmp_path / "worker.log")
        try:
            workers.start()
            order_text = load_form("sms_order", From=chef.phone, To=supplier.inbound_phone,
                                   Body="2 cases roma tomatoes\n1 bunch cilantro")
            assert _post(client, "/twilio/sms", order_text) == 200
            wait_until(lambda: bool(twilio.messages_to(chef.phone)), 120, "the confirmation SMS", workers.logs)
            [confirmation] = twilio.messages_to(chef.phone)
            assert "Roma Tomatoes" in confirmation.body and confirmation.from_ == supplier.inbound_phone

            callback_path = urlsplit(confirmation.status_callback or "")
            path = f"{callback_path.path}?{callback_path.query}"
            status_form = load_form("status_delivered", MessageSid=confirmation.sid, SmsSid=confirmation.sid,
                                    To=chef.phone, From=supplier.inbound_phone)
            assert _post(client, path, status_form) == 200

            yes = load_form("sms_order", From=chef.phone, To=supplier.inbound_phone, Body="yes",
                            MessageSid="SM" + "f" * 32, SmsSid="SM" + "f" * 32, SmsMessageSid="SM" + "f" * 32)
            assert _post(client, "/twilio/sms", yes) == 200
            assert _post(client, "/twilio/sms", yes) == 200  # Twilio redelivers the "yes": still one sheet
            wait_until(lambda: len(sink.received) >= 1, 60, "the order sheet email", workers.logs)

            with committed_pg() as session:
                order = session.scalars(select(Order)).one()
                wait_until(lambda: _sheet_status(committed_pg, order.id) == "sent", 30, "the sheet row to be sent")
        finally:
            workers.stop_all()
        [mail] = sink.received
    assert mail.rcpt_tos == (SUPPLIER_EMAIL,)
    names = sorted(part.get_filename() for part in mail.message.iter_attachments())
    assert names == [f"C2O-{order.id}.csv", f"C2O-{order.id}.pdf"]
    with committed_pg() as session:
        assert session.get(Order, order.id).status == "dispatched"  # type: ignore[union-attr]
        confirmation_row = session.scalars(
            select(OutboundMessage).where(OutboundMessage.provider_id == confirmation.sid)
        ).one()
        assert confirmation_row.status == "delivered"


def _sheet_status(maker: sessionmaker[Session], order_id: int) -> str | None:
    with maker() as session:
        return session.scalars(
            select(OutboundMessage.status).where(
                OutboundMessage.order_id == order_id, OutboundMessage.purpose == "order_sheet"
            )
        ).first()
