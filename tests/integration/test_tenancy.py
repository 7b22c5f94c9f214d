"""Tenancy: every chat API route, called with one tenant's token on the other tenant's rows, answers 404
and changes nothing. Two complete tenants (restaurant + chef + supplier + order) on the real database.

The matrix is checked against the app's URL map, so a new API route without a tenancy case fails here.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from chat2order.tables import InboundMessage, Order, OrderLine
from tests.helpers.chat_tenants import Tenant, make_app, make_tenant

pytestmark = pytest.mark.postgres

ID = "int"
# (route rule, method, how to call it against the victim tenant)
Call = Callable[[Any, Tenant, dict[str, str]], Any]
CROSS_TENANT: dict[tuple[str, str], Call] = {
    ("/api/conversations/<string:supplier_slug>", "GET"): lambda c, v, h: c.get(
        f"/api/conversations/{v.supplier.slug}", headers=h
    ),
    ("/api/messages", "POST"): lambda c, v, h: c.post(
        "/api/messages",
        json={"client_id": uuid.uuid4().hex, "supplier": v.supplier.slug, "text": "2 cs"},
        headers=h,
    ),
    ("/api/orders", "GET"): lambda c, v, h: c.get(f"/api/orders?supplier={v.supplier.slug}", headers=h),
    (f"/api/orders/<{ID}:order_id>", "GET"): lambda c, v, h: c.get(f"/api/orders/{v.order.id}", headers=h),
    (f"/api/orders/<{ID}:order_id>/confirm", "POST"): lambda c, v, h: c.post(
        f"/api/orders/{v.order.id}/confirm", headers=h
    ),
    (f"/api/orders/<{ID}:order_id>/cancel", "POST"): lambda c, v, h: c.post(
        f"/api/orders/{v.order.id}/cancel", headers=h
    ),
    (f"/api/orders/<{ID}:order_id>/lines/<{ID}:line_id>", "PATCH"): lambda c, v, h: c.patch(
        f"/api/orders/{v.order.id}/lines/{v.lines[0].id}", json={"quantity": "99"}, headers=h
    ),
    (f"/api/orders/<{ID}:order_id>/lines/<{ID}:line_id>", "DELETE"): lambda c, v, h: c.delete(
        f"/api/orders/{v.order.id}/lines/{v.lines[0].id}", headers=h
    ),
}
# Routes with nothing tenant-specific to point at: they only ever answer about the caller.
NO_TENANT_ARGUMENT = {("/api/me", "GET"), ("/api/live", "GET")}


@pytest.fixture
def client(committed_pg: sessionmaker[Session], tmp_path: Path) -> Any:
    app, _ = make_app(committed_pg, tmp_path)
    return app.test_client()


@pytest.fixture
def tenants(committed_pg: sessionmaker[Session]) -> tuple[Tenant, Tenant]:
    with committed_pg() as session:
        return make_tenant(session), make_tenant(session)


def _snapshot(maker: sessionmaker[Session], victim: Tenant) -> tuple[Any, ...]:
    with maker() as session:
        order = session.get(Order, victim.order.id)
        lines = session.scalars(select(OrderLine.quantity).where(OrderLine.order_id == victim.order.id)).all()
        messages = session.scalar(
            select(func.count())
            .select_from(InboundMessage)
            .where(InboundMessage.supplier_id == victim.supplier.id)
        )
        return order.status, sorted(lines), messages


def test_matrix_covers_every_api_route(client: Any) -> None:
    routes = {
        (rule.rule, method)
        for rule in client.application.url_map.iter_rules()
        if rule.rule.startswith("/api/")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert routes == set(CROSS_TENANT) | NO_TENANT_ARGUMENT


@pytest.mark.parametrize("who", ["chef", "staff"])
@pytest.mark.parametrize("route", sorted(CROSS_TENANT), ids=lambda r: f"{r[1]} {r[0]}")
def test_other_tenants_rows_are_404_and_untouched(
    client: Any,
    tenants: tuple[Tenant, Tenant],
    committed_pg: sessionmaker[Session],
    route: tuple[str, str],
    who: str,
) -> None:
    attacker, victim = tenants
    headers = attacker.chef() if who == "chef" else attacker.staff()
    before = _snapshot(committed_pg, victim)
    response = CROSS_TENANT[route](client, victim, headers)
    assert response.status_code == 404, response.get_json()
    assert response.get_json()["error"] == "not_found"
    assert _snapshot(committed_pg, victim) == before


@pytest.mark.parametrize("who", ["chef", "staff"])
def test_order_lists_never_include_the_other_tenant(
    client: Any, tenants: tuple[Tenant, Tenant], who: str
) -> None:
    attacker, victim = tenants
    headers = attacker.chef() if who == "chef" else attacker.staff()
    ids = {o["id"] for o in client.get("/api/orders?limit=200", headers=headers).get_json()["orders"]}
    assert ids == {attacker.order.id}
    assert victim.order.id not in ids


def test_me_never_lists_the_other_tenants_supplier(client: Any, tenants: tuple[Tenant, Tenant]) -> None:
    attacker, victim = tenants
    suppliers = client.get("/api/me", headers=attacker.chef()).get_json()["suppliers"]
    assert victim.supplier.slug not in {s["slug"] for s in suppliers}


def test_an_order_id_that_does_not_exist_answers_like_another_tenants(
    client: Any, tenants: tuple[Tenant, Tenant]
) -> None:
    attacker, victim = tenants
    missing = client.get(f"/api/orders/{victim.order.id + 10_000}", headers=attacker.chef())
    foreign = client.get(f"/api/orders/{victim.order.id}", headers=attacker.chef())
    assert (missing.status_code, missing.get_json()) == (foreign.status_code, foreign.get_json())
