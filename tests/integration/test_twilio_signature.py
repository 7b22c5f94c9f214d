"""X-Twilio-Signature: only correctly signed requests for our public URL are read; the rest get 403 and
leave nothing behind."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from twilio.request_validator import RequestValidator

from chat2order.channels.twilio import sign
from tests import factories
from tests.integration.twilio_support import BASE, TOKEN, TwilioApp, build, load_form

pytestmark = pytest.mark.postgres


@pytest.fixture
def twilio_app(pg_engine: Engine, committed_pg: sessionmaker[Session]) -> TwilioApp:
    return build(pg_engine, committed_pg)


def _known_contact_form() -> list[tuple[str, str]]:
    supplier = factories.SupplierFactory()
    contact = factories.ContactFactory()
    factories.AccountFactory(restaurant=contact.restaurant, supplier=supplier)
    return load_form("sms_order", From=contact.phone, To=supplier.inbound_phone)


def test_signature_matches_twilio_libraries_known_answer() -> None:
    # The vector from twilio-python's tests/unit/test_request_validator.py.
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Digits": "1234",
        "From": "+14158675309",
        "To": "+18005551212",
        "Caller": "+14158675309",
    }
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert sign(url, list(params.items()), "12345") == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    assert RequestValidator("12345").validate(url, params, "RSOYDt4T1cUTdK1PDd93/VVr8B8=")


def test_correctly_signed_sms_is_stored_and_answered_with_empty_twiml(twilio_app: TwilioApp) -> None:
    response = twilio_app.post("/twilio/sms", _known_contact_form())

    assert response.status_code == 200
    assert response.mimetype == "text/xml"
    assert response.get_data(as_text=True).endswith("<Response/>")
    assert twilio_app.count_messages() == 1


def test_tampered_body_is_refused_and_nothing_stored(twilio_app: TwilioApp) -> None:
    form = _known_contact_form()
    signature = sign(BASE + "/twilio/sms", form, TOKEN)
    tampered = [(k, "20 cases roma tomatoes" if k == "Body" else v) for k, v in form]

    response = twilio_app.client.post(
        "/twilio/sms",
        data=urlencode(tampered),
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": signature},
    )

    assert response.status_code == 403
    assert twilio_app.count_messages() == 0


def test_signature_for_http_url_is_refused_when_public_url_is_https(twilio_app: TwilioApp) -> None:
    form = _known_contact_form()

    response = twilio_app.post("/twilio/sms", form, signed_url=BASE.replace("https://", "http://") + "/twilio/sms")

    assert response.status_code == 403
    assert twilio_app.count_messages() == 0


def test_missing_signature_header_is_refused_and_nothing_stored(twilio_app: TwilioApp) -> None:
    response = twilio_app.client.post(
        "/twilio/sms", data=urlencode(_known_contact_form()), content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 403
    assert twilio_app.count_messages() == 0


def test_signature_with_another_accounts_token_is_refused(twilio_app: TwilioApp) -> None:
    response = twilio_app.post("/twilio/sms", _known_contact_form(), token="someone-elses-token")

    assert response.status_code == 403
    assert twilio_app.count_messages() == 0


def test_webhooks_are_refused_when_no_auth_token_is_configured(pg_engine, committed_pg) -> None:
    app = build(pg_engine, committed_pg, twilio_auth_token="")

    response = app.post("/twilio/sms", _known_contact_form(), token="anything")

    assert response.status_code == 403
    assert app.count_messages() == 0


def test_without_public_base_url_the_forwarded_https_url_is_validated(pg_engine, committed_pg) -> None:
    # Behind a TLS-terminating proxy the app sees http://internal:8000; ProxyFix restores what Twilio signed.
    app = build(pg_engine, committed_pg, public_base_url="")
    form = _known_contact_form()

    response = app.post(
        "/twilio/sms",
        form,
        signed_url="https://orders.example.net/twilio/sms",
        headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "orders.example.net"},
    )

    assert response.status_code == 200
    assert app.count_messages() == 1


def test_without_public_base_url_a_signature_for_another_host_is_refused(pg_engine, committed_pg) -> None:
    app = build(pg_engine, committed_pg, public_base_url="")

    response = app.post(
        "/twilio/sms",
        _known_contact_form(),
        signed_url="https://evil.example.org/twilio/sms",
        headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "orders.example.net"},
    )

    assert response.status_code == 403
    assert app.count_messages() == 0


def test_query_string_is_part_of_the_signed_url(twilio_app: TwilioApp) -> None:
    form = _known_contact_form()
    url = BASE + "/twilio/sms?tenant=a"
    response = twilio_app.client.post(
        "/twilio/sms?tenant=a",
        data=urlencode(form),
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": sign(url, form, TOKEN)},
    )

    assert response.status_code == 200


def test_sign_command_prints_the_signature_twilio_would_send() -> None:
    from click.testing import CliRunner

    from chat2order.cli import main

    result = CliRunner().invoke(
        main,
        [
            "twilio", "sign", "https://mycompany.com/myapp.php?foo=1&bar=2", "CallSid=CA1234567890ABCDE",
            "Digits=1234", "From=+14158675309", "To=+18005551212", "Caller=+14158675309", "--token", "12345",
        ],
    )

    assert result.exit_code == 0
    assert result.output.strip() == "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def test_sign_command_without_a_token_is_one_clear_error() -> None:
    from click.testing import CliRunner

    from chat2order.cli import main

    result = CliRunner(env={"TWILIO_AUTH_TOKEN": ""}).invoke(main, ["twilio", "sign", "https://x/twilio/sms", "A=1"])

    assert result.exit_code == 1
    assert "TWILIO_AUTH_TOKEN" in result.output
