"""The chat API through the real app (Flask test client) on the real PostgreSQL test database."""

from __future__ import annotations

import uuid
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from chat2order import auth
from chat2order.jobs import RecordingQueue
from chat2order.tables import InboundMessage, Order, OrderLine, OutboundMessage
from tests import factories as f
from tests.helpers.chat_tenants import Tenant, make_app, make_tenant

pytestmark = pytest.mark.postgres


@pytest.fixture
def app_rt(committed_pg: sessionmaker[Session], tmp_path: Path) -> Any:
    return make_app(committed_pg, tmp_path)


@pytest.fixture
def client(app_rt: Any) -> Any:
    return app_rt[0].test_client()


@pytest.fixture
def queue(app_rt: Any) -> RecordingQueue:
    return app_rt[1].queue


@pytest.fixture
def tenant(committed_pg: sessionmaker[Session]) -> Tenant:
    with committed_pg() as session:
        return make_tenant(session)


def _count(maker: sessionmaker[Session], stmt: Any) -> int:
    with maker() as session:
        return int(session.scalar(stmt) or 0)


def _message(tenant: Tenant, **changes: Any) -> dict[str, Any]:
    return {
        "client_id": uuid.uuid4().hex,
        "supplier": tenant.supplier.slug,
        "text": "2 cs romaine",
        **changes,
    }


# --- authentication --------------------------------------------------------------------------------------


def test_request_without_token_is_401_with_bearer_challenge(client: Any, tenant: Tenant) -> None:
    response = client.get("/api/orders")
    assert response.status_code == 401
    assert response.get_json()["error"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_unknown_token_is_401(client: Any, tenant: Tenant) -> None:
    response = client.get("/api/orders", headers={"Authorization": "Bearer " + auth.new_token()})
    assert response.status_code == 401


def test_revoked_token_is_401(client: Any, tenant: Tenant, committed_pg: sessionmaker[Session]) -> None:
    with committed_pg() as session, session.begin():
        assert auth.revoke(session, tenant.chef_token)
    assert client.get("/api/orders", headers=tenant.chef()).status_code == 401


def test_tokens_are_stored_only_as_hashes(committed_pg: sessionmaker[Session], tenant: Tenant) -> None:
    from chat2order.tables import ApiToken

    with committed_pg() as session:
        stored = session.scalars(select(ApiToken.token_hash)).all()
    assert tenant.chef_token not in stored
    assert auth.hash_token(tenant.chef_token) in stored


def test_me_lists_only_the_suppliers_the_restaurant_buys_from(client: Any, tenant: Tenant) -> None:
    f.SupplierFactory()  # a supplier this restaurant has no account with
    body = client.get("/api/me", headers=tenant.chef()).get_json()
    assert body["kind"] == "contact"
    assert body["restaurant"]["slug"] == tenant.restaurant.slug
    assert [s["slug"] for s in body["suppliers"]] == [tenant.supplier.slug]


# --- sending --------------------------------------------------------------------------------------------


def test_sent_message_is_stored_as_chat_inbound_and_queued(
    client: Any, tenant: Tenant, queue: RecordingQueue, committed_pg: sessionmaker[Session]
) -> None:
    response = client.post(
        "/api/messages", json=_message(tenant, text="3 cases of lemons"), headers=tenant.chef()
    )
    assert response.status_code == 202
    body = response.get_json()
    assert body["created"] is True
    with committed_pg() as session:
        stored = session.get(InboundMessage, body["message_id"])
        assert (stored.channel, stored.body) == ("chat", "3 cases of lemons")
        assert (stored.contact_id, stored.restaurant_id, stored.supplier_id) == (
            tenant.contact.id,
            tenant.restaurant.id,
            tenant.supplier.id,
        )
    assert ("process_message", (body["message_id"],)) in queue.enqueued


def test_resending_the_same_client_id_stores_one_message(
    client: Any, tenant: Tenant, queue: RecordingQueue, committed_pg: sessionmaker[Session]
) -> None:
    payload = _message(tenant)
    first = client.post("/api/messages", json=payload, headers=tenant.chef()).get_json()
    second = client.post("/api/messages", json=payload, headers=tenant.chef()).get_json()
    assert second == {**first, "created": False}
    assert (
        _count(
            committed_pg,
            select(func.count()).select_from(InboundMessage).where(InboundMessage.channel == "chat"),
        )
        == 2
    )  # the tenant's own seed + 1
    assert [job for job in queue.enqueued if job[0] == "process_message"] == [
        ("process_message", (first["message_id"],))
    ]


def test_two_chefs_may_use_the_same_client_id(
    client: Any, tenant: Tenant, committed_pg: sessionmaker[Session]
) -> None:
    with committed_pg() as session:
        other = make_tenant(session)
    client_id = uuid.uuid4().hex
    a = client.post(
        "/api/messages", json=_message(tenant, client_id=client_id), headers=tenant.chef()
    ).get_json()
    b = client.post(
        "/api/messages", json=_message(other, client_id=client_id), headers=other.chef()
    ).get_json()
    assert a["created"] and b["created"]
    assert a["message_id"] != b["message_id"]


def test_message_to_a_supplier_without_account_is_404_and_stores_nothing(
    client: Any, tenant: Tenant, committed_pg: sessionmaker[Session]
) -> None:
    stranger = f.SupplierFactory()
    before = _count(committed_pg, select(func.count()).select_from(InboundMessage))
    response = client.post(
        "/api/messages", json=_message(tenant, supplier=stranger.slug), headers=tenant.chef()
    )
    assert response.status_code == 404
    assert _count(committed_pg, select(func.count()).select_from(InboundMessage)) == before


@pytest.mark.parametrize(
    "change",
    [{"text": ""}, {"client_id": "x"}, {"unexpected": 1}, {"supplier": "s" * 65}],
    ids=["empty-text", "short-client-id", "unknown-field", "long-slug"],
)
def test_invalid_message_is_422_with_field_details(
    client: Any, tenant: Tenant, change: dict[str, Any]
) -> None:
    response = client.post("/api/messages", json=_message(tenant, **change), headers=tenant.chef())
    assert response.status_code == 422
    body = response.get_json()
    assert body["error"] == "invalid_request"
    assert body["details"]


def test_body_over_the_size_limit_is_413(client: Any, tenant: Tenant, app_rt: Any) -> None:
    limit = app_rt[1].settings.max_content_length
    response = client.post(
        "/api/messages", data=b"x" * (limit + 1), content_type="application/json", headers=tenant.chef()
    )
    assert response.status_code == 413


def test_supplier_token_cannot_send_messages(client: Any, tenant: Tenant) -> None:
    response = client.post("/api/messages", json=_message(tenant), headers=tenant.staff())
    assert response.status_code == 403
    assert response.get_json()["error"] == "forbidden"


# --- reading --------------------------------------------------------------------------------------------


def test_conversation_shows_both_directions_oldest_first(client: Any, tenant: Tenant) -> None:
    body = client.get(f"/api/conversations/{tenant.supplier.slug}", headers=tenant.chef()).get_json()
    keys = [m["key"] for m in body["messages"]]
    assert set(keys) == {f"in-{tenant.inbound.id}", f"out-{tenant.outbound.id}"}
    times = [m["at"] for m in body["messages"]]
    assert times == sorted(times)
    assert [o["id"] for o in body["orders"]] == [tenant.order.id]


def test_conversation_leaves_out_the_sheet_sent_to_the_supplier(
    client: Any, tenant: Tenant, committed_pg: sessionmaker[Session]
) -> None:
    sheet = f.OutboundMessageFactory(
        channel="email", recipient=tenant.supplier.order_email, purpose="order_sheet", order=tenant.order
    )
    body = client.get(f"/api/conversations/{tenant.supplier.slug}", headers=tenant.chef()).get_json()
    assert f"out-{sheet.id}" not in [m["key"] for m in body["messages"]]


def test_conversation_leaves_out_another_chef_of_the_same_restaurant(
    client: Any, tenant: Tenant, committed_pg: sessionmaker[Session]
) -> None:
    colleague = f.ContactFactory(restaurant=tenant.restaurant)
    theirs = f.InboundMessageFactory(
        contact=colleague, restaurant=tenant.restaurant, supplier=tenant.supplier
    )
    body = client.get(f"/api/conversations/{tenant.supplier.slug}", headers=tenant.chef()).get_json()
    assert f"in-{theirs.id}" not in [m["key"] for m in body["messages"]]


def test_order_list_of_a_chef_has_their_restaurants_orders_with_totals(client: Any, tenant: Tenant) -> None:
    body = client.get("/api/orders", headers=tenant.chef()).get_json()
    [summary] = body["orders"]
    assert summary["id"] == tenant.order.id
    priced = tenant.lines[0]
    expected = (priced.quantity * priced.unit_price).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    assert Decimal(summary["total"]) == expected
    assert summary["needs_review"] is True


def test_order_list_filters_by_status(client: Any, tenant: Tenant) -> None:
    f.OrderFactory(
        restaurant=tenant.restaurant, supplier=tenant.supplier, contact=tenant.contact, status="dispatched"
    )
    body = client.get("/api/orders?status=dispatched", headers=tenant.chef()).get_json()
    assert [o["status"] for o in body["orders"]] == ["dispatched"]


def test_supplier_staff_list_their_suppliers_orders(client: Any, tenant: Tenant) -> None:
    other_restaurant_order = f.OrderFactory(supplier=tenant.supplier)
    body = client.get("/api/orders", headers=tenant.staff()).get_json()
    assert {o["id"] for o in body["orders"]} == {tenant.order.id, other_restaurant_order.id}


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/api/orders/99999999999"), ("delete", "/api/orders/3126306750592/lines/1")],
    ids=["get", "delete-line"],
)
def test_ids_beyond_the_id_column_are_404_not_a_crash(
    client: Any, tenant: Tenant, method: str, path: str
) -> None:
    response = getattr(client, method)(path, headers=tenant.chef())
    assert response.status_code == 404


def test_order_detail_offers_the_candidates_of_a_flagged_line(client: Any, tenant: Tenant) -> None:
    body = client.get(f"/api/orders/{tenant.order.id}", headers=tenant.chef()).get_json()
    flagged = next(line for line in body["lines"] if line["needs_review"])
    assert [c["sku"] for c in flagged["candidates"]] == [tenant.items[1].sku, tenant.items[2].sku]
    assert flagged["candidates"][0]["name"] == tenant.items[1].name
    assert Decimal(flagged["candidates"][0]["price"]) == tenant.items[1].price


# --- acting on an order ---------------------------------------------------------------------------------


def test_choosing_a_candidate_settles_the_flagged_line(client: Any, tenant: Tenant) -> None:
    flagged = tenant.lines[1]
    response = client.patch(
        f"/api/orders/{tenant.order.id}/lines/{flagged.id}",
        json={"sku": tenant.items[2].sku},
        headers=tenant.chef(),
    )
    assert response.status_code == 200
    line = next(line for line in response.get_json()["lines"] if line["id"] == flagged.id)
    assert (line["sku"], line["needs_review"]) == (tenant.items[2].sku, False)


def test_changing_a_quantity_updates_the_line_and_total(client: Any, tenant: Tenant) -> None:
    priced = tenant.lines[0]
    response = client.patch(
        f"/api/orders/{tenant.order.id}/lines/{priced.id}", json={"quantity": "7"}, headers=tenant.chef()
    )
    body = response.get_json()
    line = next(line for line in body["lines"] if line["id"] == priced.id)
    assert Decimal(line["quantity"]) == 7
    assert Decimal(line["line_total"]) == (7 * priced.unit_price).quantize(Decimal("0.01"))


def test_choosing_a_sku_outside_the_catalog_is_422(client: Any, tenant: Tenant) -> None:
    response = client.patch(
        f"/api/orders/{tenant.order.id}/lines/{tenant.lines[1].id}",
        json={"sku": "NOPE-1"},
        headers=tenant.chef(),
    )
    assert response.status_code == 422


def test_editing_a_line_of_another_order_is_404(client: Any, tenant: Tenant) -> None:
    other = f.OrderFactory(restaurant=tenant.restaurant, supplier=tenant.supplier, status="awaiting_chef")
    response = client.patch(
        f"/api/orders/{other.id}/lines/{tenant.lines[0].id}", json={"quantity": "2"}, headers=tenant.chef()
    )
    assert response.status_code == 404


def test_confirm_with_an_open_question_is_refused(
    client: Any, tenant: Tenant, committed_pg: sessionmaker[Session]
) -> None:
    response = client.post(f"/api/orders/{tenant.order.id}/confirm", headers=tenant.chef())
    assert response.status_code == 422
    with committed_pg() as session:
        assert session.get(Order, tenant.order.id).status == "awaiting_chef"


def test_confirm_writes_the_sheet_and_queues_its_delivery_after_commit(
    client: Any, tenant: Tenant, queue: RecordingQueue, committed_pg: sessionmaker[Session]
) -> None:
    client.patch(
        f"/api/orders/{tenant.order.id}/lines/{tenant.lines[1].id}",
        json={"sku": tenant.items[1].sku},
        headers=tenant.chef(),
    )
    response = client.post(f"/api/orders/{tenant.order.id}/confirm", headers=tenant.chef())
    assert response.status_code == 200
    assert response.get_json()["status"] == "confirmed"
    with committed_pg() as session:
        sheet_ids = set(
            session.scalars(
                select(OutboundMessage.id).where(
                    OutboundMessage.order_id == tenant.order.id, OutboundMessage.id != tenant.outbound.id
                )
            )
        )
    assert sheet_ids
    assert {ids[0] for name, ids in queue.enqueued if name == "deliver"} == sheet_ids


def test_confirming_twice_is_a_conflict(client: Any, tenant: Tenant) -> None:
    client.patch(
        f"/api/orders/{tenant.order.id}/lines/{tenant.lines[1].id}",
        json={"sku": tenant.items[1].sku},
        headers=tenant.chef(),
    )
    assert client.post(f"/api/orders/{tenant.order.id}/confirm", headers=tenant.chef()).status_code == 200
    second = client.post(f"/api/orders/{tenant.order.id}/confirm", headers=tenant.chef())
    assert second.status_code == 409


def test_cancel_cancels_an_order_waiting_for_the_chef(client: Any, tenant: Tenant) -> None:
    response = client.post(f"/api/orders/{tenant.order.id}/cancel", headers=tenant.chef())
    assert (response.status_code, response.get_json()["status"]) == (200, "cancelled")


def test_removing_a_line_drops_it_from_the_order(
    client: Any, tenant: Tenant, committed_pg: sessionmaker[Session]
) -> None:
    response = client.delete(
        f"/api/orders/{tenant.order.id}/lines/{tenant.lines[1].id}", headers=tenant.chef()
    )
    assert [line["id"] for line in response.get_json()["lines"]] == [tenant.lines[0].id]
    assert (
        _count(
            committed_pg,
            select(func.count()).select_from(OrderLine).where(OrderLine.id == tenant.lines[1].id),
        )
        == 0
    )


def test_supplier_staff_cannot_confirm_a_restaurants_order(client: Any, tenant: Tenant) -> None:
    response = client.post(f"/api/orders/{tenant.order.id}/confirm", headers=tenant.staff())
    assert response.status_code == 403


# --- rate limit -----------------------------------------------------------------------------------------


@pytest.mark.redis
def test_rate_limit_per_token_on_redis_answers_429(
    committed_pg: sessionmaker[Session], tmp_path: Path, redis_url: str, redis_conn: Any
) -> None:
    app, _ = make_app(committed_pg, tmp_path, redis_url=redis_url, rate_limit="3/minute")
    client = app.test_client()
    with committed_pg() as session:
        a, b = make_tenant(session), make_tenant(session)
    statuses = [client.get("/api/orders", headers=a.chef()).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert client.get("/api/orders", headers=a.chef()).get_json()["error"] == "too_many_requests"
    # Another token has its own allowance, and the counters live in Redis.
    assert client.get("/api/orders", headers=b.chef()).status_code == 200
    assert any(b"chat2order-rl" in key for key in redis_conn.keys("*"))


# --- the token command ----------------------------------------------------------------------------------


def test_token_create_prints_a_token_that_authenticates_the_contact(
    committed_pg: sessionmaker[Session], pg_url: str
) -> None:
    from click.testing import CliRunner

    from chat2order.cli import main

    contact = f.ContactFactory()
    result = CliRunner().invoke(
        main, ["token", "create", "--contact", contact.email.upper()], env={"DATABASE_URL": pg_url}
    )
    assert result.exit_code == 0, result.output
    plain = result.output.strip()
    with committed_pg() as session:
        principal = auth.resolve(session, plain)
    assert principal is not None
    assert (principal.kind, principal.contact_id) == ("contact", contact.id)


def test_token_create_for_an_unknown_supplier_is_one_line_error(
    committed_pg: sessionmaker[Session], pg_url: str
) -> None:
    from click.testing import CliRunner

    from chat2order.cli import main

    result = CliRunner().invoke(main, ["token", "create", "--supplier", "nope"], env={"DATABASE_URL": pg_url})
    assert result.exit_code == 1
    assert "no supplier with slug nope" in result.output


@pytest.mark.redis
def test_made_up_tokens_from_one_address_are_limited_too(
    committed_pg: sessionmaker[Session], tmp_path: Path, redis_url: str
) -> None:
    from chat2order.channels.chat import ADDRESS_FACTOR

    app, _ = make_app(committed_pg, tmp_path, redis_url=redis_url, rate_limit="2/minute")
    client = app.test_client()
    statuses = [
        client.get("/api/orders", headers={"Authorization": "Bearer " + auth.new_token()}).status_code
        for _ in range(2 * ADDRESS_FACTOR + 1)
    ]
    assert statuses == [401] * (2 * ADDRESS_FACTOR) + [429]
