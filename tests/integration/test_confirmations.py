"""What the chef reads back, per channel and language (rendering from order rows on PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from chat2order.ordering.confirmations import Notice, option_numbers, render, sms_segments
from chat2order.tables import CatalogItem, Order
from tests import factories
from tests.helpers.ordering import kitchen

pytestmark = pytest.mark.postgres
THURSDAY = dt.date(2026, 11, 26)


def _item(db, supplier, sku: str) -> CatalogItem:
    return db.scalar(select(CatalogItem).where(CatalogItem.supplier_id == supplier.id, CatalogItem.sku == sku))


def _order(db, k, lines, locale: str = "en-US") -> Order:
    order = factories.OrderFactory(
        restaurant=k.restaurant, supplier=k.supplier, contact=k.contact, status="awaiting_chef",
        delivery_date=THURSDAY, currency=k.supplier.currency, locale=locale,
    )
    for position, (sku, quantity, unit, extra) in enumerate(lines):
        item = _item(db, k.supplier, sku) if sku else None
        factories.OrderLineFactory(
            order=order, position=position, item=item, quantity=quantity, unit=unit,
            unit_price=item.price if item else None,
            **{"text": f"{quantity} {unit} {sku}", "needs_review": False, "candidates": [], **extra},
        )
    db.refresh(order)
    return order


def test_sms_says_product_pack_quantity_prices_total_and_day(db) -> None:
    k = kitchen()
    order = _order(db, k, [("TOM-ROMA-25", Decimal(2), "case", {}), ("LEM-115", Decimal(1), "case", {})])
    body = render(order, "draft", channel="sms", locale="en-US").body
    assert body.splitlines()[0] == "Greenleaf Produce: your order for Thu, Nov 26"
    assert "- 2 cases TOMATO ROMA 5X6 (25 lb case) @ $32.50 = $65.00" in body
    assert "- 1 case LEMONS 115 CT (case) @ $45.00 = $45.00" in body
    assert "Total $110.00" in body
    assert body.endswith("Reply YES to confirm, or send changes.")


def test_usual_three_line_order_fits_in_two_sms_segments(db) -> None:
    k = kitchen()
    order = _order(db, k, [("TOM-ROMA-25", Decimal(2), "case", {}), ("LEM-115", Decimal(1), "case", {}),
                           ("CIL-BN", Decimal(3), "bunch", {})])
    body = render(order, "draft", channel="sms", locale="en-US").body
    assert sms_segments(body) <= 2


def test_weight_ordered_on_a_packed_item_is_priced_through_the_pack(db) -> None:
    k = kitchen()
    order = _order(db, k, [("TOM-ROMA-25", Decimal(50), "lb", {})])
    assert "50 lb TOMATO ROMA 5X6 (25 lb case) @ $32.50 = $65.00" in render(order, "draft", channel="sms",
                                                                           locale="en-US").body


def test_flagged_line_becomes_a_numbered_question_with_prices(db) -> None:
    k = kitchen()
    order = _order(db, k, [
        ("TOM-ROMA-25", Decimal(2), "case", {}),
        (None, Decimal(5), "kg", {"text": "5kg onions", "needs_review": True, "candidates": ["ONI-YEL-50", "ONI-RED-25"]}),
    ])
    body = render(order, "draft", channel="sms", locale="en-US").body
    assert "Please check:" in body
    assert "5kg onions (5 kg): 1) ONION YELLOW JUMBO 50# (50 lb sack) $38.00 2) ONION RED 25# (25 lb sack) $30.00?" in body
    assert "Reply with your answers, or YES to confirm as it is." in body


def test_shaky_single_match_is_asked_with_its_price(db) -> None:
    k = kitchen()
    order = _order(db, k, [("TOM-ROMA-25", Decimal(50), "lb", {"text": "50 lb roma", "needs_review": True})])
    body = render(order, "draft", channel="sms", locale="en-US").body
    assert "50 lb roma: 50 lb TOMATO ROMA 5X6 (25 lb case) $32.50, right?" in body
    assert "Total $65.00" in body


def test_options_are_numbered_across_all_questions(db) -> None:
    k = kitchen()
    order = _order(db, k, [
        (None, Decimal(5), "kg", {"needs_review": True, "candidates": ["ONI-YEL-50", "ONI-RED-25"]}),
        (None, Decimal(2), "case", {"needs_review": True, "candidates": ["TOM-ROMA-25", "TOM-CHERRY-10"]}),
    ])
    assert [(n, sku) for n, _, sku in option_numbers(order)] == [
        (1, "ONI-YEL-50"), (2, "ONI-RED-25"), (3, "TOM-ROMA-25"), (4, "TOM-CHERRY-10")]


def test_not_carried_items_are_said_so(db) -> None:
    k = kitchen()
    order = _order(db, k, [("TOM-ROMA-25", Decimal(2), "case", {}),
                           (None, Decimal(1), "tub", {"text": "1 tub burrata"})])
    body = render(order, "draft", channel="whatsapp", locale="en-US").body
    assert "Not carried: 1 tub burrata" in body
    assert "Total $65.00" in body


@pytest.mark.parametrize(
    ("locale", "currency", "expected"),
    [
        ("pt-PT", "EUR", ["a sua encomenda para", "2 caixas TOMATO ROMA 5X6", "32,50 €", "Total 65,00 €", "Responda SIM"]),
        ("fr-FR", "EUR", ["votre commande pour", "2 colis TOMATO ROMA 5X6", "32,50 €", "Répondez OUI"]),
        ("it-IT", "EUR", ["il suo ordine per", "2 casse TOMATO ROMA 5X6", "Totale 65,00 €", "Risponda SÌ"]),
        ("es-ES", "EUR", ["su pedido para el", "2 cajas TOMATO ROMA 5X6", "Total 65,00 €", "Responda SÍ"]),
        ("en-GB", "GBP", ["your order for Thu 26 Nov", "£32.50"]),
    ],
)
def test_confirmation_is_in_the_chefs_language_and_money_format(db, locale, currency, expected) -> None:
    k = kitchen(locale=locale, currency=currency)
    order = _order(db, k, [("TOM-ROMA-25", Decimal(2), "case", {})], locale=locale)
    body = render(order, "draft", channel="sms", locale=locale).body
    for fragment in expected:
        assert fragment in body


def test_email_is_richer_with_a_subject_and_an_html_table(db) -> None:
    k = kitchen()
    order = _order(db, k, [("TOM-ROMA-25", Decimal(2), "case", {})])
    rendered = render(order, "draft", channel="email", locale="en-US")
    assert rendered.subject == "Please confirm your order with Greenleaf Produce for Thu, Nov 26"
    assert "<table" in rendered.html
    assert re.search(r"<td>TOMATO ROMA 5X6</td><td>25 lb case</td>", rendered.html)
    assert "$65.00" in rendered.html


def test_day_moved_by_the_cutoff_is_told_before_confirming(db) -> None:
    k = kitchen()
    order = _order(db, k, [("TOM-ROMA-25", Decimal(2), "case", {})])
    notice = Notice(requested=dt.date(2026, 11, 25), reason="cutoff")
    body = render(order, "draft", channel="sms", locale="en-US", notice=notice).body
    assert "Too late for Wed, Nov 25 (after the cut-off); the next delivery is Thu, Nov 26." in body


def test_cancellation_is_one_line(db) -> None:
    k = kitchen()
    order = _order(db, k, [("TOM-ROMA-25", Decimal(2), "case", {})])
    assert render(order, "cancelled", channel="sms", locale="en-US").body == (
        "Greenleaf Produce: your order for Thu, Nov 26 is cancelled.")


def test_a_very_long_order_stays_within_one_twilio_message_and_keeps_the_total(db) -> None:
    k = kitchen()
    skus = ["TOM-ROMA-25", "LEM-115", "LIM-175", "AVO-48", "CIL-BN"]
    order = _order(db, k, [(skus[i % 5], Decimal(i + 1), None, {}) for i in range(80)])
    body = render(order, "draft", channel="sms", locale="en-US").body
    assert len(body) <= 1600
    assert "Total $" in body and body.endswith("Reply YES to confirm, or send changes.")
    assert "(+" in body


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    # Any Unicode PostgreSQL text can store (no NUL, no lone surrogates: neither can come from a channel).
    names=st.lists(st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)),
                           min_size=1, max_size=120),
                   min_size=1, max_size=40),
    quantity=st.decimals(min_value=Decimal("0.001"), max_value=Decimal(100000), places=3),
)
def test_any_order_renders_an_sms_within_twilios_limit(db, names, quantity) -> None:
    k = kitchen()
    order = _order(db, k, [(None, quantity, "kg", {"text": name}) for name in names])
    assert len(render(order, "draft", channel="sms", locale="fr-FR").body) <= 1600
