"""The chat channel: a token-authenticated JSON API (`/api/...`), its OpenAPI document, the web chat page
(`/chat`) and its live-update WebSocket (`/api/live`).

Routes only translate: authenticate the bearer token, validate the request (spectree + pydantic, which
also generates `/openapi.json`), call one service function (`intake.receive`, the read side in
`ordering.conversations`, the order rules in `ordering.orders` for the chef's buttons) and map the
result or the project's error to JSON. Every error is `{"error": "<code>", "message": ...}`; something
outside the caller's tenant is 404, exactly like something that does not exist. Requests are rate
limited per API token, with a looser ceiling per client address so a flood of made-up tokens is limited
too (Flask-Limiter: Redis when REDIS_URL is set, memory otherwise).

`register(app)` wires all of it into the app made by `chat2order.web.create_app`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from flask import Blueprint, Flask, current_app, g, render_template, request
from flask import Response as FlaskResponse
from flask_sock import Sock
from spectree import Response, SecurityScheme, SpecTree
from spectree.models import SecuritySchemeData
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException

from chat2order import auth, live
from chat2order.channels import chat_schemas as s
from chat2order.errors import Chat2OrderError, InvalidInput, NotFound
from chat2order.ordering import conversations
from chat2order.ordering import orders as order_rules
from chat2order.ordering.outbox import enqueue_deliveries
from chat2order.tables import Order, OrderLine, OutboundMessage

ASSETS = Path(__file__).resolve().parent.parent / "web_assets"
EXTENSION_KEY = "chat2order.chat"

api_bp = Blueprint("chat_api", __name__, url_prefix="/api")
page_bp = Blueprint(
    "chat_page",
    __name__,
    template_folder=str(ASSETS / "templates"),
    static_folder=str(ASSETS / "static"),
    static_url_path="/chat-static",
)
sock = Sock()


def _validation_errors(
    req: Any, resp: Any, req_validation_error: Any, instance: Any, model_adapter: Any = None
) -> None:
    """spectree hook: put request validation errors in the API's error shape."""
    if req_validation_error is None or resp is None:
        return
    try:
        details = json.loads(resp.get_data())
    except ValueError:
        details = None
    body = s.ErrorResponse(
        error="invalid_request",
        message="the request does not match the API schema",
        details=details if isinstance(details, list) else None,
    )
    resp.set_data(body.model_dump_json(exclude_none=True))
    resp.mimetype = "application/json"


api = SpecTree(
    "flask",
    title="chat2order chat API",
    description="Restaurant contacts send orders to suppliers, read the conversation and confirm or fix orders; "
    "supplier staff list their orders. Authenticate with `Authorization: Bearer <token>` "
    "(`chat2order token create`).",
    version="1",
    mode="strict",  # only the routes decorated below, not the Twilio webhooks
    annotations=False,
    page_templates={},  # no Swagger page: it would load its scripts from a CDN
    security_schemes=[SecurityScheme(name="bearer", data=SecuritySchemeData(type="http", scheme="bearer"))],
    security={"bearer": []},
    validation_error_status=422,
    before=_validation_errors,
)

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class ChatState:
    runtime: Any  # chat2order.runtime.Runtime
    broker: live.Broker


def _state() -> ChatState:
    return current_app.extensions[EXTENSION_KEY]  # type: ignore[no-any-return]


def _errors(*codes: int) -> dict[str, type]:
    return {f"HTTP_{code}": s.ErrorResponse for code in (401, 429, *codes)}


def error_response(
    status: int, code: str, message: str, details: list[dict[str, Any]] | None = None
) -> FlaskResponse:
    body = s.ErrorResponse(error=code, message=message, details=details)
    return FlaskResponse(body.model_dump_json(exclude_none=True), status=status, mimetype="application/json")


# ---------------------------------------------------------------------------------------------------------
# Authentication and errors.


# One client address may use this many tokens' worth of requests (an office of chefs behind one NAT).
ADDRESS_FACTOR = 5


def _rate_key() -> str:
    """Rate-limit bucket: the API token (hashed, so Redis never holds it), else the client address."""
    token = auth.bearer_token(request.headers.get("Authorization"))
    if token:
        return "token:" + auth.hash_token(token)[:32]
    return _address_key()


def _address_key() -> str:
    return "addr:" + (request.remote_addr or "unknown")


def _address_limit(per_token: str) -> str:
    from limits import parse_many

    return ";".join(
        f"{item.amount * ADDRESS_FACTOR} per {item.multiples} {item.GRANULARITY.name}"
        for item in parse_many(per_token)
    )


@api_bp.before_request
def _authenticate() -> FlaskResponse | None:
    if request.endpoint == "chat_api.live_socket":
        return None  # the socket authenticates with its first frame (browsers cannot set headers on it)
    token = auth.bearer_token(request.headers.get("Authorization"))
    with _state().runtime.sessionmaker() as session:
        principal = auth.resolve(session, token)
    if principal is None:
        response = error_response(401, "unauthorized", "a valid API token is required")
        response.headers["WWW-Authenticate"] = 'Bearer realm="chat2order"'
        return response
    g.principal = principal
    return None


def _principal() -> auth.Principal:
    return g.principal  # type: ignore[no-any-return]


def _contact_only() -> None:
    if not _principal().is_contact:
        raise _Forbidden("this route is for restaurant contacts; supplier tokens can list orders")


class _Forbidden(Chat2OrderError):
    pass


@api_bp.errorhandler(Chat2OrderError)
def _project_error(exc: Chat2OrderError) -> FlaskResponse:
    if isinstance(exc, NotFound):
        return error_response(404, "not_found", str(exc) or "not found")
    if isinstance(exc, _Forbidden):
        return error_response(403, "forbidden", str(exc))
    if isinstance(exc, order_rules.InvalidTransition):
        return error_response(409, "conflict", str(exc))
    if isinstance(exc, InvalidInput):
        return error_response(422, "invalid_request", str(exc))
    return error_response(400, "bad_request", str(exc))


@api_bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Any:
    """Keep a response a route or spectree aborted with (the 422 below); others in the app's JSON shape."""
    if exc.response is not None:
        return exc.response
    code = (exc.name or "error").lower().replace(" ", "_")
    response = error_response(exc.code or 500, code, exc.description or exc.name)
    for name, value in exc.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


# ---------------------------------------------------------------------------------------------------------
# Routes.


@api_bp.get("/me")
@api.validate(resp=Response(HTTP_200=s.MeOut, **_errors()), tags=["account"])
def me() -> s.MeOut:
    """Who the token belongs to, and the suppliers it can talk to."""
    principal = _principal()
    with _state().runtime.sessionmaker() as session:
        name, restaurant = conversations.display_name(session, principal)
        suppliers = conversations.suppliers_for(session, principal)
        return s.MeOut(
            kind=principal.kind,
            name=name,
            restaurant=s.restaurant_out(restaurant) if restaurant else None,
            suppliers=[s.supplier_out(x) for x in suppliers],
        )


@api_bp.post("/messages")
@api.validate(
    json=s.SendMessage, resp=Response(HTTP_202=s.MessageAccepted, **_errors(403, 404, 422)), tags=["chat"]
)
def send_message() -> tuple[s.MessageAccepted, int]:
    """Send a message (usually an order) to a supplier. Retrying with the same `client_id` stores it once."""
    from chat2order.ordering import intake

    body: s.SendMessage = request.context.json  # type: ignore[attr-defined]
    principal = _principal()
    rt = _state().runtime
    with rt.sessionmaker() as session:
        supplier = conversations.supplier_for(session, principal, body.supplier)
        _contact_only()
        sender = conversations.contact_address(session, principal)
        supplier_id, slug = supplier.id, supplier.slug
    received = intake.receive(
        rt,
        intake.Incoming(
            channel="chat",
            # Scoped to the contact: two chefs' apps may pick the same client id without colliding.
            provider_id=f"{principal.contact_id}:{body.client_id}",
            sender=sender,
            recipient=f"chat:{slug}",
            body=body.text,
            raw=request.get_data(as_text=True),
            meta={"client_id": body.client_id, "token_id": principal.token_id},
            restaurant_id=principal.restaurant_id,
            supplier_id=supplier_id,
            contact_id=principal.contact_id,
        ),
    )
    return s.MessageAccepted(
        message_id=received.message_id, created=received.created, status=received.status
    ), 202


@api_bp.get("/conversations/<string:supplier_slug>")
@api.validate(resp=Response(HTTP_200=s.Conversation, **_errors(403, 404)), tags=["chat"])
def conversation(supplier_slug: str) -> s.Conversation:
    """The caller's thread with one supplier (oldest first) and the orders it talks about."""
    principal = _principal()
    with _state().runtime.sessionmaker() as session:
        supplier = conversations.supplier_for(session, principal, supplier_slug)
        _contact_only()
        entries = conversations.thread(session, principal, supplier)
        orders = conversations.thread_orders(session, principal, supplier, entries)
        return s.Conversation(
            supplier=s.supplier_out(supplier),
            messages=[s.ThreadMessage(**vars(entry)) for entry in entries],
            orders=s.order_details(session, orders),
        )


@api_bp.get("/orders")
@api.validate(query=s.OrdersQuery, resp=Response(HTTP_200=s.OrderList, **_errors(404, 422)), tags=["orders"])
def list_orders() -> s.OrderList:
    """The caller's orders, newest first: a restaurant's for a contact, a supplier's for its staff."""
    query: s.OrdersQuery = request.context.query  # type: ignore[attr-defined]
    with _state().runtime.sessionmaker() as session:
        rows = conversations.list_orders(
            session, _principal(), status=query.status, supplier_slug=query.supplier, limit=query.limit
        )
        return s.OrderList(orders=[s.OrderSummary(**s.summary_fields(order)) for order in rows])


@api_bp.get("/orders/<int:order_id>")
@api.validate(resp=Response(HTTP_200=s.OrderDetail, **_errors(404)), tags=["orders"])
def order_detail(order_id: int) -> s.OrderDetail:
    """One order with its lines, prices, flagged lines and their candidates."""
    with _state().runtime.sessionmaker() as session:
        order = conversations.get_order(session, _principal(), order_id)
        return s.order_details(session, [order])[0]


def _change_order(
    order_id: int, change: Callable[[Session, Order], list[OutboundMessage] | None]
) -> s.OrderDetail:
    """One chef action on an open order of the caller's restaurant, as one transaction.

    The order row is locked (two clicks on "Confirm" cannot write two sheets), the change is one of the
    ordering rules in `ordering.orders`, the outbox rows it wrote are delivered after the commit.
    Only orders still waiting for the chef change here; a confirmed order is changed by a message, whose
    processing also tells the supplier.
    """
    principal = _principal()
    rt = _state().runtime
    with rt.sessionmaker() as session:
        with session.begin():
            # Visibility first: another tenant's order is 404 whoever asks, before any other answer.
            order = conversations.get_order(session, principal, order_id, for_update=True)
            _contact_only()
            if order.status not in conversations.OPEN_STATUSES:
                raise order_rules.InvalidTransition(
                    f"order {order.id} is {order.status}; send a message to change it"
                )
            outbox_ids = [row.id for row in change(session, order) or ()]
        enqueue_deliveries(rt.queue, outbox_ids)
        return s.order_details(session, [conversations.get_order(session, principal, order_id)])[0]


def _line(order: Order, line_id: int) -> OrderLine:
    for line in order.lines:
        if line.id == line_id:
            return line
    raise NotFound("no such line")


@api_bp.post("/orders/<int:order_id>/confirm")
@api.validate(resp=Response(HTTP_200=s.OrderDetail, **_errors(403, 404, 409, 422)), tags=["orders"])
def confirm_order(order_id: int) -> s.OrderDetail:
    """Confirm the order as it stands: the supplier's order sheet is sent."""
    return _change_order(order_id, order_rules.confirm)


@api_bp.post("/orders/<int:order_id>/cancel")
@api.validate(resp=Response(HTTP_200=s.OrderDetail, **_errors(403, 404, 409)), tags=["orders"])
def cancel_order(order_id: int) -> s.OrderDetail:
    """Cancel the order (before it is dispatched)."""
    return _change_order(order_id, lambda _session, order: order_rules.cancel(order))


@api_bp.patch("/orders/<int:order_id>/lines/<int:line_id>")
@api.validate(
    json=s.LineEdit, resp=Response(HTTP_200=s.OrderDetail, **_errors(403, 404, 409, 422)), tags=["orders"]
)
def edit_line(order_id: int, line_id: int) -> s.OrderDetail:
    """Fix a line: choose its product (e.g. one of the candidates of a flagged line) and/or its quantity."""
    body: s.LineEdit = request.context.json  # type: ignore[attr-defined]

    def change(session: Session, order: Order) -> None:
        line = _line(order, line_id)
        if body.sku is not None:
            order_rules.choose(session, order, line, body.sku)
        quantity = body.quantity_decimal
        if quantity is not None:
            order_rules.set_quantity(order, line, quantity, None)

    return _change_order(order_id, change)


@api_bp.delete("/orders/<int:order_id>/lines/<int:line_id>")
@api.validate(resp=Response(HTTP_200=s.OrderDetail, **_errors(403, 404, 409)), tags=["orders"])
def remove_line(order_id: int, line_id: int) -> s.OrderDetail:
    """Remove a line from the order."""
    return _change_order(
        order_id, lambda _session, order: order_rules.remove_line(order, _line(order, line_id))
    )


@sock.route("/live", bp=api_bp)
def live_socket(ws: Any) -> None:
    """Live updates for the page: see `chat2order.live.serve_socket`."""
    state = _state()
    live.serve_socket(ws, state.runtime.sessionmaker, state.broker)


# The page loads only its own files and talks only to this origin (API and WebSocket); with the token in
# localStorage, refusing any other script source is what keeps an injected one from reading it.
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


@page_bp.get("/chat")
def chat_page() -> FlaskResponse:
    """The web chat page (the token is asked for and kept in the browser's localStorage)."""
    response = current_app.make_response(render_template("chat.html"))
    response.headers["Content-Security-Policy"] = PAGE_CSP
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@page_bp.get("/openapi.json")
def openapi() -> FlaskResponse:
    """The chat API's OpenAPI document, generated by spectree from the routes and models above."""
    return current_app.json.response(api.spec)


# ---------------------------------------------------------------------------------------------------------
# Wiring.


def register(app: Flask) -> None:
    """Register the chat API, page, OpenAPI document, rate limit and live updates on `app`.

    Called by `chat2order.web.create_app` after it installed the runtime in `app.extensions`.
    """
    from flask_limiter import Limiter

    from chat2order.web import EXTENSION_KEY as WEB_RUNTIME_KEY

    runtime = app.extensions[WEB_RUNTIME_KEY]
    settings = runtime.settings
    broker = live.broker_for(settings.redis_url)
    live.attach(runtime.sessionmaker, broker)
    app.extensions[EXTENSION_KEY] = ChatState(runtime=runtime, broker=broker)

    limiter = Limiter(
        key_func=_rate_key,
        app=app,
        storage_uri=settings.redis_url or "memory://",
        strategy="fixed-window",
        headers_enabled=True,
        key_prefix="chat2order-rl",
        # A Redis hiccup must not take the API down: count in memory meanwhile.
        in_memory_fallback_enabled=True,
    )
    limiter.shared_limit(settings.rate_limit, scope="chat-api", key_func=_rate_key)(api_bp)
    limiter.shared_limit(
        _address_limit(settings.rate_limit), scope="chat-api-address", key_func=_address_key
    )(api_bp)
    app.extensions[EXTENSION_KEY + ".limiter"] = limiter

    app.register_blueprint(api_bp)
    app.register_blueprint(page_bp)
    api.register(app)
