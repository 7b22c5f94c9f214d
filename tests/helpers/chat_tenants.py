"""Shared pieces of the chat API tests: an app around the test database, and two complete tenants.

A tenant is a restaurant with a chef (and the chef's API token), a supplier it buys from (with catalog
items), an order with lines and a message thread, plus a token for the supplier's staff. The tenancy
matrix points one tenant's token at the other tenant's rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from flask import Flask
from sqlalchemy.orm import Session, sessionmaker

from chat2order import auth
from chat2order.config import Settings
from chat2order.jobs import RecordingQueue
from chat2order.runtime import Runtime
from chat2order.web import create_app
from tests import factories as f


def make_app(
    maker: sessionmaker[Session],
    tmp_path: Path,
    *,
    redis_url: str = "",
    rate_limit: str = "10000/minute",
    queue: Any = None,
    database_url: str = "",
) -> tuple[Flask, Runtime]:
    settings = Settings(
        database_url=database_url or str(maker.kw["bind"].url.render_as_string(hide_password=False)),
        redis_url=redis_url,
        rate_limit=rate_limit,
        var_dir=tmp_path / "var",
        outbox_dir=tmp_path / "outbox",
    )
    runtime = Runtime(settings, engine=maker.kw["bind"], sessionmaker=maker, queue=queue or RecordingQueue())
    app = create_app(runtime=runtime)
    app.config["TESTING"] = True
    return app, runtime


@dataclass
class Tenant:
    restaurant: Any
    contact: Any
    supplier: Any
    items: list[Any]
    order: Any
    lines: list[Any]
    inbound: Any
    outbound: Any
    chef_token: str
    supplier_token: str

    def chef(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.chef_token}"}

    def staff(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.supplier_token}"}


def make_tenant(session: Session, *, status: str = "awaiting_chef") -> Tenant:
    """A restaurant, its chef, a supplier it buys from, an order waiting for the chef, and both tokens."""
    restaurant = f.RestaurantFactory()
    contact = f.ContactFactory(restaurant=restaurant)
    supplier = f.SupplierFactory()
    f.AccountFactory(restaurant=restaurant, supplier=supplier)
    items = [f.CatalogItemFactory(supplier=supplier) for _ in range(3)]
    inbound = f.InboundMessageFactory(
        channel="chat", contact=contact, restaurant=restaurant, supplier=supplier
    )
    order = f.OrderFactory(
        restaurant=restaurant, supplier=supplier, contact=contact, source_message=inbound, status=status
    )
    lines = [
        f.OrderLineFactory(order=order, item=items[0], needs_review=False, candidates=[], unit=items[0].unit),
        f.OrderLineFactory(
            order=order,
            item=None,
            needs_review=True,
            candidates=[items[1].sku, items[2].sku],
            unit=None,
            unit_price=None,
        ),
    ]
    outbound = f.OutboundMessageFactory(
        channel="chat", recipient=contact.email, purpose="confirmation", order=order, inbound_message=inbound
    )
    chef_token, _ = auth.create_token(session, contact_id=contact.id)
    supplier_token, _ = auth.create_token(session, supplier_id=supplier.id)
    session.commit()
    return Tenant(
        restaurant, contact, supplier, items, order, lines, inbound, outbound, chef_token, supplier_token
    )


Request = Callable[..., Any]


class LoopbackServer:
    """The app served by werkzeug on a free loopback port, in a background thread (real HTTP and WebSocket)."""

    def __init__(self, app: Flask) -> None:
        import threading

        from werkzeug.serving import make_server

        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="loopback-app", daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._thread.join(timeout=10)
