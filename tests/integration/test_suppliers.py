"""Adding and updating suppliers: validation, normalisation, locale defaults and one-line CLI errors."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from chat2order import tables
from chat2order.cli import main
from chat2order.errors import InvalidInput, NotFound
from chat2order.onboarding.suppliers import SupplierFields, add_supplier, update_supplier
from tests import factories

DOMAIN = "orders.example.net"


def _stored(maker: sessionmaker[Session], slug: str) -> tables.Supplier:
    with maker() as session:
        supplier = session.scalar(select(tables.Supplier).where(tables.Supplier.slug == slug))
        assert supplier is not None
        return supplier


def test_new_supplier_gets_currency_and_timezone_from_its_locale(committed_pg: sessionmaker[Session]) -> None:
    add_supplier(committed_pg, "horto", SupplierFields(name="Horto Lda", locale="pt_pt"), mail_domain=DOMAIN)

    supplier = _stored(committed_pg, "horto")
    assert (supplier.locale, supplier.currency, supplier.timezone) == ("pt-PT", "EUR", "Europe/Lisbon")


def test_national_phone_numbers_are_read_in_the_locale_country(committed_pg: sessionmaker[Session]) -> None:
    add_supplier(committed_pg, "horto", SupplierFields(name="Horto", locale="pt-PT", order_phone="912 345 678",
                                                      inbound_phone="+351 21 000 0000"), mail_domain=DOMAIN)

    supplier = _stored(committed_pg, "horto")
    assert (supplier.order_phone, supplier.inbound_phone) == ("+351912345678", "+351210000000")


def test_every_given_setting_is_stored_normalised(committed_pg: sessionmaker[Session]) -> None:
    add_supplier(committed_pg, "greenleaf", SupplierFields(
        name="  Greenleaf   Produce ", cutoff="2130", delivery_days="mon-fri,sun", order_email="Sheets@GreenLeaf.Example",
        inbound_email="orders+greenleaf", auto_confirm=True, currency="usd", timezone="America/Chicago",
    ), mail_domain=DOMAIN)

    supplier = _stored(committed_pg, "greenleaf")
    assert supplier.name == "Greenleaf Produce"
    assert supplier.cutoff_time == dt.time(21, 30) and supplier.delivery_weekdays == [1, 2, 3, 4, 5, 7]
    assert supplier.order_email == "Sheets@greenleaf.example"
    assert supplier.inbound_email == f"orders+greenleaf@{DOMAIN}"
    assert (supplier.currency, supplier.timezone, supplier.auto_confirm) == ("USD", "America/Chicago", True)


@pytest.mark.parametrize(("fields", "message"), [
    (SupplierFields(name="X", order_phone="12"), "order phone '12' is not"),
    (SupplierFields(name="X", inbound_phone="+44 20 1234"), "inbound phone '+44 20 1234' is not a valid phone number"),
    (SupplierFields(name="X", order_email="sheets@"), "order email 'sheets@' is not an email address"),
    (SupplierFields(name="X", order_email="a b@c.com"), "is not an email address"),
    (SupplierFields(name="X", locale="klingon"), "unknown locale 'klingon'"),
    (SupplierFields(name="X", currency="EURO"), "unknown currency 'EURO'"),
    (SupplierFields(name="X", timezone="Mars/Olympus"), "unknown timezone 'Mars/Olympus'"),
    (SupplierFields(name="X", cutoff="25:00"), "cut-off '25:00' is not a time of day"),
    (SupplierFields(name="X", delivery_days="mon,funday"), "delivery day 'funday' is not a weekday"),
    (SupplierFields(name=""), "needs a name"),
])
def test_invalid_settings_are_refused_with_a_clear_message(
    sqlite_sessionmaker: sessionmaker[Session], fields: SupplierFields, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message.replace("+", r"\+")):
        add_supplier(sqlite_sessionmaker, "fresh-co", fields, mail_domain=DOMAIN)
    with sqlite_sessionmaker() as session:
        assert session.scalar(select(tables.Supplier)) is None


@pytest.mark.parametrize("slug", ["A", "Fresh Co", "-fresh", "fresh_co", "x" * 65])
def test_bad_slugs_are_refused(sqlite_sessionmaker: sessionmaker[Session], slug: str) -> None:
    with pytest.raises(InvalidInput, match="slug"):
        add_supplier(sqlite_sessionmaker, slug, SupplierFields(name="Fresh"), mail_domain=DOMAIN)


def test_adding_an_existing_slug_is_refused(committed_pg: sessionmaker[Session]) -> None:
    existing = factories.SupplierFactory()
    with pytest.raises(InvalidInput, match="already exists"):
        add_supplier(committed_pg, existing.slug, SupplierFields(name="Again"), mail_domain=DOMAIN)


def test_an_inbound_phone_used_by_another_supplier_is_refused(committed_pg: sessionmaker[Session]) -> None:
    other = factories.SupplierFactory(inbound_phone="+15555550177")
    with pytest.raises(InvalidInput, match=f"already used by supplier '{other.slug}'"):
        add_supplier(committed_pg, "fresh-co", SupplierFields(name="Fresh", inbound_phone="+1 555 555 0177"), mail_domain=DOMAIN)


def test_update_changes_only_the_given_settings(committed_pg: sessionmaker[Session]) -> None:
    supplier = factories.SupplierFactory(locale="en-GB", order_phone="+442079460958", name="Thames")

    update_supplier(committed_pg, supplier.slug, SupplierFields(cutoff="20:00", order_email=""), mail_domain=DOMAIN)

    stored = _stored(committed_pg, supplier.slug)
    assert stored.cutoff_time == dt.time(20, 0) and stored.order_email is None
    assert (stored.name, stored.order_phone, stored.locale) == ("Thames", "+442079460958", "en-GB")


def test_update_of_an_unknown_supplier_is_not_found(sqlite_sessionmaker: sessionmaker[Session]) -> None:
    with pytest.raises(NotFound):
        update_supplier(sqlite_sessionmaker, "ghost", SupplierFields(cutoff="20:00"), mail_domain=DOMAIN)


def test_cli_add_then_show_json(sqlite_sessionmaker: sessionmaker[Session], sqlite_url: str) -> None:
    runner = CliRunner()
    env = {"DATABASE_URL": sqlite_url, "MAIL_DOMAIN": DOMAIN}
    added = runner.invoke(main, ["supplier", "add", "sol", "--name", "Distribuidora Sol", "--locale", "es-ES",
                                 "--cutoff", "21:00", "--delivery-days", "mon,wed,fri", "--inbound-email", "orders+sol",
                                 "--order-phone", "612 34 56 78", "--auto-confirm"], env=env)
    assert added.exit_code == 0, added.output

    shown = json.loads(runner.invoke(main, ["supplier", "show", "sol", "--json"], env=env).output)

    assert shown["currency"] == "EUR" and shown["timezone"] == "Europe/Madrid"
    assert shown["order_phone"] == "+34612345678" and shown["delivery_days"] == "mon,wed,fri"
    assert shown["inbound_email"] == f"orders+sol@{DOMAIN}" and shown["auto_confirm"] is True


def test_cli_error_is_one_line_without_traceback(sqlite_sessionmaker: sessionmaker[Session], sqlite_url: str) -> None:
    result = CliRunner().invoke(main, ["supplier", "add", "sol", "--name", "Sol", "--order-email", "nope"],
                                env={"DATABASE_URL": sqlite_url})
    assert result.exit_code == 1
    assert result.output.strip() == "error: order email 'nope' is not an email address"


def test_cli_list_json_has_every_supplier(sqlite_sessionmaker: sessionmaker[Session], sqlite_url: str) -> None:
    made = {factories.SupplierFactory().slug for _ in range(3)}
    result = CliRunner().invoke(main, ["supplier", "list", "--json"], env={"DATABASE_URL": sqlite_url})
    assert {row["slug"] for row in json.loads(result.output)} == made
