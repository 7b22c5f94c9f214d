"""Live updates: committed changes are published after the commit (never for a rollback), cross processes
through Redis pub/sub, and reach over the WebSocket only the pages of the tenant they concern."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import simple_websocket
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from chat2order import live
from chat2order.tables import Order
from tests import factories as f
from tests.helpers.chat_tenants import LoopbackServer, Tenant, make_app, make_tenant

pytestmark = pytest.mark.postgres
WAIT = 10.0  # generous upper bound for an event to arrive; the tests never assert on time


def _attached(maker: sessionmaker[Session], broker: Any) -> sessionmaker[Session]:
    # A fresh sessionmaker on the same engine, so the hook does not stay on the shared fixture's factory.
    own = sessionmaker(maker.kw["bind"], expire_on_commit=False)
    live.attach(own, broker)
    return own


def test_order_status_change_is_published_after_commit(committed_pg: sessionmaker[Session]) -> None:
    order = f.OrderFactory(status="awaiting_chef")
    broker = live.LocalBroker()
    maker = _attached(committed_pg, broker)
    with broker.subscribe() as sub, maker() as session:
        session.get(Order, order.id).status = "cancelled"
        session.flush()
        assert sub.get(timeout=0) is None  # flushed but not committed: nobody may fetch it yet
        session.commit()
        assert sub.get(timeout=WAIT) == {"type": "order", "id": order.id, "status": "cancelled"}


def test_rolled_back_change_is_never_published(committed_pg: sessionmaker[Session]) -> None:
    order = f.OrderFactory(status="awaiting_chef")
    broker = live.LocalBroker()
    maker = _attached(committed_pg, broker)
    with broker.subscribe() as sub:
        with maker() as session:
            session.get(Order, order.id).status = "cancelled"
            session.flush()
            session.rollback()
        with maker() as session:
            session.get(Order, order.id).notes = "no status change"
            session.commit()
        marker = f.OutboundMessageFactory(order=None)
        with maker() as session:
            session.merge(marker).body = "touch"
            session.commit()
        assert sub.get(timeout=0) is None


def test_new_outbound_message_is_published(committed_pg: sessionmaker[Session]) -> None:
    from chat2order.tables import OutboundMessage

    order = f.OrderFactory()
    broker = live.LocalBroker()
    maker = _attached(committed_pg, broker)
    with broker.subscribe() as sub, maker() as session:
        row = OutboundMessage(
            channel="chat",
            recipient="chef@example.org",
            body="hi",
            purpose="confirmation",
            idempotency_key="live-test",
            order_id=order.id,
        )
        session.add(row)
        session.commit()
        assert sub.get(timeout=WAIT) == {"type": "outbound", "id": row.id, "order_id": order.id}


def test_new_order_is_published_with_its_status(committed_pg: sessionmaker[Session]) -> None:
    restaurant, supplier = f.RestaurantFactory(), f.SupplierFactory()
    broker = live.LocalBroker()
    maker = _attached(committed_pg, broker)
    with broker.subscribe() as sub, maker() as session:
        order = Order(restaurant_id=restaurant.id, supplier_id=supplier.id, status="awaiting_chef")
        session.add(order)
        session.commit()
        assert sub.get(timeout=WAIT) == {"type": "order", "id": order.id, "status": "awaiting_chef"}


@pytest.mark.redis
def test_events_cross_processes_through_redis(committed_pg: sessionmaker[Session], redis_url: str) -> None:
    order = f.OrderFactory(status="awaiting_chef")
    publisher = live.RedisBroker(redis_url)  # e.g. the worker process
    listener = live.RedisBroker(redis_url)  # e.g. a web process holding the page's socket
    maker = _attached(committed_pg, publisher)
    with listener.subscribe() as sub:
        with maker() as session:
            session.get(Order, order.id).status = "confirmed"
            session.commit()
        assert sub.get(timeout=WAIT) == {"type": "order", "id": order.id, "status": "confirmed"}


# --- the WebSocket --------------------------------------------------------------------------------------


@pytest.fixture
def served(
    committed_pg: sessionmaker[Session], tmp_path: Path
) -> Iterator[tuple[LoopbackServer, Tenant, Tenant]]:
    app, _ = make_app(committed_pg, tmp_path)
    with committed_pg() as session:
        a, b = make_tenant(session), make_tenant(session)
    with LoopbackServer(app) as server:
        yield server, a, b


def _socket(server: LoopbackServer, token: str) -> simple_websocket.Client:
    ws = simple_websocket.Client.connect(server.url.replace("http://", "ws://") + "/api/live")
    ws.send(json.dumps({"token": token}))
    return ws


def _next_event(ws: simple_websocket.Client) -> dict[str, Any]:
    while True:
        frame = ws.receive(timeout=WAIT)
        assert frame is not None, "no event arrived"
        data = json.loads(frame)
        if data["type"] != "ping":
            return data


def test_socket_with_a_bad_token_is_refused(served: tuple[LoopbackServer, Tenant, Tenant]) -> None:
    server, _, _ = served
    ws = _socket(server, "c2o_not-a-token")
    try:
        assert _next_event(ws) == {"type": "error", "code": "unauthorized"}
    finally:
        ws.close()


def test_socket_pushes_own_order_changes_and_not_the_other_tenants(
    served: tuple[LoopbackServer, Tenant, Tenant],
) -> None:
    import requests

    server, a, b = served
    ws_a, ws_b = _socket(server, a.chef_token), _socket(server, b.chef_token)
    try:
        assert _next_event(ws_a) == {"type": "ready"}
        assert _next_event(ws_b) == {"type": "ready"}
        requests.post(f"{server.url}/api/orders/{a.order.id}/cancel", headers=a.chef(), timeout=WAIT)
        requests.post(f"{server.url}/api/orders/{b.order.id}/cancel", headers=b.chef(), timeout=WAIT)
        assert _next_event(ws_a) == {"type": "order", "id": a.order.id, "status": "cancelled"}
        # B's first event is B's own: A's change never reached B's page.
        assert _next_event(ws_b) == {"type": "order", "id": b.order.id, "status": "cancelled"}
    finally:
        ws_a.close()
        ws_b.close()


def test_order_made_by_processing_a_message_is_published(committed_pg: sessionmaker[Session], tmp_path: Path) -> None:
    # Processing inserts a new draft with Core statements (no flush reports it); the event must still go out.
    from chat2order.ordering.processing import process_message
    from tests.helpers.ordering import inbound, kitchen, runtime

    k = kitchen()
    message = inbound(k, "2 cs roma tomatoes, 1 case lemons for tomorrow")
    broker = live.LocalBroker()
    maker = _attached(committed_pg, broker)
    with broker.subscribe() as sub:
        process_message(runtime(maker, tmp_path), message.id)
        events = []
        while (event := sub.get(timeout=WAIT if not events else 0.5)) is not None:
            events.append(event)
    with committed_pg() as session:
        order = session.scalars(select(Order).where(Order.source_message_id == message.id)).one()
    assert {"type": "order", "id": order.id, "status": "awaiting_chef"} in events
