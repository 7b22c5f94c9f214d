"""The web chat page end to end in headless Chromium (Debian's package, driven by Playwright).

The app runs on a loopback port (werkzeug in a thread) around the real PostgreSQL test database, with the
in-process job queue, so a typed message goes through intake, the parser and processing like any other.
Screenshots land in /tmp (chat-page-*.png) for a person to look at.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from chat2order import auth
from chat2order.jobs import InProcessQueue
from chat2order.runtime import Runtime
from tests import factories as f
from tests.helpers.chat_tenants import LoopbackServer, make_app

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.slow]

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
UI_TIMEOUT_MS = 30_000  # the first parse loads the language pipeline


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} missing: run scripts/browser-deps")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    page.set_default_timeout(UI_TIMEOUT_MS)
    yield page
    context.close()


@pytest.fixture
def kitchen(committed_pg: sessionmaker[Session]) -> dict[str, Any]:
    """A produce supplier with a small catalog, a restaurant that buys from it, its chef and the chef's token."""
    supplier = f.SupplierFactory(
        name="Riverside Produce",
        locale="en-US",
        currency="USD",
        timezone="America/New_York",
        cutoff_time=dt.time(23, 59),
        delivery_weekdays=[1, 2, 3, 4, 5, 6, 7],
        auto_confirm=False,
    )
    catalog = [
        ("LET-ROM-24", "Romaine Hearts", "24 ct case", "case", "42.00"),
        ("ONI-YEL-50", "Onions Yellow Jumbo", "50 lb bag", "bag", "28.50"),
        ("LEM-115", "Lemons Fancy 115 ct", "case", "case", "55.00"),
        ("TOM-CHR-RED", "Tomatoes Cherry Red", "12 pint flat", "flat", "24.00"),
        ("TOM-CHR-YEL", "Tomatoes Cherry Yellow", "12 pint flat", "flat", "27.00"),
    ]
    items = {
        sku: f.CatalogItemFactory(
            supplier=supplier, sku=sku, name=name, pack=pack, unit=unit, price=Decimal(price)
        )
        for sku, name, pack, unit, price in catalog
    }
    restaurant = f.RestaurantFactory(name="Juniper Bistro", locale="en-US", timezone="America/New_York")
    contact = f.ContactFactory(restaurant=restaurant, name="Sam Rivera", locale="en-US")
    f.AccountFactory(restaurant=restaurant, supplier=supplier)
    with committed_pg() as session, session.begin():
        token, _ = auth.create_token(session, contact_id=contact.id)
    return {
        "supplier": supplier,
        "restaurant": restaurant,
        "contact": contact,
        "items": items,
        "token": token,
    }


@pytest.fixture
def server(committed_pg: sessionmaker[Session], tmp_path: Path) -> Iterator[tuple[LoopbackServer, Runtime]]:
    app, runtime = make_app(committed_pg, tmp_path)
    runtime._queue = InProcessQueue(runtime, retry_intervals=())
    with LoopbackServer(app) as served:
        yield served, runtime
    runtime._queue.close()


def _sign_in(page: Any, url: str, token: str) -> None:
    page.goto(f"{url}/chat")
    page.fill("#token", token)
    page.click("#signin-form button[type=submit]")
    page.wait_for_selector("#composer textarea")


def _order_with_a_question(kitchen: dict[str, Any]) -> tuple[Any, Any]:
    """An order waiting for the chef: one settled line, one flagged line with two candidates."""
    items = kitchen["items"]
    message = f.InboundMessageFactory(
        channel="chat",
        contact=kitchen["contact"],
        restaurant=kitchen["restaurant"],
        supplier=kitchen["supplier"],
        body="2 cs romaine, 1 flat cherry tomatoes",
        received_at=dt.datetime.now(dt.UTC),
        status="awaiting_chef",
    )
    order = f.OrderFactory(
        restaurant=kitchen["restaurant"],
        supplier=kitchen["supplier"],
        contact=kitchen["contact"],
        source_message=message,
        status="awaiting_chef",
        currency="USD",
        placed_at=message.received_at,
    )
    f.OrderLineFactory(
        order=order,
        position=0,
        item=items["LET-ROM-24"],
        quantity=Decimal(2),
        unit="case",
        text="2 cs romaine",
        needs_review=False,
        candidates=[],
        unit_price=Decimal("42.00"),
    )
    flagged = f.OrderLineFactory(
        order=order,
        position=1,
        item=None,
        quantity=Decimal(1),
        unit="flat",
        text="1 flat cherry tomatoes",
        needs_review=True,
        unit_price=None,
        candidates=["TOM-CHR-RED", "TOM-CHR-YEL"],
    )
    return order, flagged


def test_typed_order_comes_back_as_a_card_with_skus_prices_and_total(
    page: Any, server: tuple[LoopbackServer, Runtime], kitchen: dict[str, Any]
) -> None:
    served, _ = server
    _sign_in(page, served.url, kitchen["token"])
    page.fill("#message", "2 cs romaine hearts and 1 bag yellow onions please")
    page.keyboard.press("Enter")

    card = page.wait_for_selector("article.order")
    page.wait_for_selector("#live.on")
    page.screenshot(path="/tmp/chat-page-order-card.png", full_page=True)
    text = card.inner_text()
    assert "LET-ROM-24" in text and "ONI-YEL-50" in text
    assert "Romaine Hearts" in text
    # 2 × 42.00 + 1 × 28.50
    assert card.get_attribute("data-status") == "awaiting_chef"
    assert page.get_attribute("article.order .total", "data-total") == "112.50"


def test_choosing_a_candidate_then_confirming_updates_the_card(
    page: Any, server: tuple[LoopbackServer, Runtime], kitchen: dict[str, Any]
) -> None:
    served, _ = server
    order, flagged = _order_with_a_question(kitchen)

    _sign_in(page, served.url, kitchen["token"])
    page.wait_for_selector(f"article.order[data-order-id='{order.id}']")
    assert page.is_disabled(f"article.order[data-order-id='{order.id}'] [data-action=confirm]")
    page.screenshot(path="/tmp/chat-page-question.png", full_page=True)

    page.click(f"tr[data-line-id='{flagged.id}'] button.choice[data-sku='TOM-CHR-YEL']")
    page.wait_for_selector(f"tr[data-line-id='{flagged.id}']:not(.flagged)")
    page.click(f"article.order[data-order-id='{order.id}'] [data-action=confirm]")
    # Confirmed, then (the in-process worker is quick) dispatched to the supplier: either is the new state.
    page.wait_for_selector(
        f"article.order[data-order-id='{order.id}'][data-status='confirmed'],"
        f" article.order[data-order-id='{order.id}'][data-status='dispatched']"
    )
    page.screenshot(path="/tmp/chat-page-confirmed.png", full_page=True)
    assert "TOM-CHR-YEL" in page.inner_text(f"article.order[data-order-id='{order.id}']")


def test_page_is_readable_on_a_phone(
    page: Any, server: tuple[LoopbackServer, Runtime], kitchen: dict[str, Any]
) -> None:
    served, _ = server
    order, _ = _order_with_a_question(kitchen)
    page.set_viewport_size({"width": 390, "height": 844})
    _sign_in(page, served.url, kitchen["token"])
    page.wait_for_selector(f"article.order[data-order-id='{order.id}']")
    width = page.evaluate("document.documentElement.scrollWidth")
    page.screenshot(path="/tmp/chat-page-phone.png", full_page=True)
    assert width <= 390  # nothing forces sideways scrolling


def test_bad_token_shows_the_sign_in_form_again(page: Any, server: tuple[LoopbackServer, Runtime]) -> None:
    served, _ = server
    page.goto(f"{served.url}/chat")
    page.fill("#token", "c2o_wrong")
    page.click("#signin-form button[type=submit]")
    error = page.wait_for_selector("#signin-error:not([hidden])")
    assert "not valid" in error.inner_text()
