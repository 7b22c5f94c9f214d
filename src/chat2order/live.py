"""Live updates for the web chat: committed changes are published as small events and pushed to the
pages that may see them over a WebSocket (flask-sock).

How an event travels:
1. `attach(sessionmaker, broker)` hooks the session factory: after a flush it notes new inbound and
   outbound messages and orders whose status or lines changed; after the commit (never before, so a
   page never fetches a row that is not there yet) it publishes them. A rollback drops them.
2. The broker fans them out: in-process (`LocalBroker`) in the embedded default, where the worker is a
   thread of the web process; over Redis pub/sub (`RedisBroker`) when REDIS_URL is set, so a change
   committed by a worker process reaches every web process.
3. Each WebSocket (`/api/live`) authenticates with the first frame (`{"token": ...}`; tokens stay out of
   URLs and logs), then forwards only the events `conversations.event_visible` allows for that caller.
   Events carry ids and a status, never content: the page refetches through the authenticated API.

Services never import this module; the web app and the worker attach it to their session factory.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session, sessionmaker

from chat2order.db import INSERTED_OUTSIDE_FLUSH
from chat2order.tables import InboundMessage, Order, OrderLine, OutboundMessage

log = logging.getLogger(__name__)

CHANNEL = "chat2order:live"
_PENDING = "chat2order.live.pending"
# A subscriber that stops reading (a stuck socket) must not make the publisher's memory grow.
SUBSCRIBER_BUFFER = 1000
PING_SECONDS = 20.0
AUTH_TIMEOUT_SECONDS = 10.0


class _QueueSubscription:
    def __init__(self) -> None:
        self.queue: queue.Queue[dict[str, Any]] = queue.Queue(maxsize=SUBSCRIBER_BUFFER)

    def get(self, timeout: float) -> dict[str, Any] | None:
        try:
            return self.queue.get(timeout=timeout)
        except queue.Empty:
            return None


class LocalBroker:
    """Fan-out to subscribers of this process."""

    def __init__(self) -> None:
        self._subscribers: set[_QueueSubscription] = set()
        self._lock = threading.Lock()

    def publish(self, events: list[dict[str, Any]]) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for sub in subscribers:
            for item in events:
                try:
                    sub.queue.put_nowait(item)
                except queue.Full:
                    # The page refetches on the next event anyway; dropping one is harmless.
                    log.warning("live subscriber buffer full; dropping an event")

    @contextmanager
    def subscribe(self) -> Iterator[_QueueSubscription]:
        sub = _QueueSubscription()
        with self._lock:
            self._subscribers.add(sub)
        try:
            yield sub
        finally:
            with self._lock:
                self._subscribers.discard(sub)

    @property
    def subscriber_count(self) -> int:
        with self._lock:
            return len(self._subscribers)


class RedisBroker:
    """Redis pub/sub across processes; one listener thread per process feeds a `LocalBroker`."""

    def __init__(self, redis_url: str, channel: str = CHANNEL) -> None:
        self.redis_url = redis_url
        self.channel = channel
        self._local = LocalBroker()
        self._client: Any = None
        self._listener: threading.Thread | None = None
        self._ready = threading.Event()
        self._lock = threading.Lock()

    def _redis(self) -> Any:
        if self._client is None:
            import redis

            # Short timeouts: publishing runs right after a commit and must never hold the caller up for long.
            self._client = redis.Redis.from_url(self.redis_url, socket_connect_timeout=2, socket_timeout=2)
        return self._client

    def publish(self, events: list[dict[str, Any]]) -> None:
        try:
            self._redis().publish(self.channel, json.dumps(events))
        except Exception:
            log.warning("could not publish live events to Redis", exc_info=True)

    @contextmanager
    def subscribe(self) -> Iterator[_QueueSubscription]:
        self._ensure_listener()
        with self._local.subscribe() as sub:
            yield sub

    def _ensure_listener(self) -> None:
        with self._lock:
            if self._listener is None or not self._listener.is_alive():
                self._ready.clear()
                self._listener = threading.Thread(target=self._listen, name="live-redis", daemon=True)
                self._listener.start()
        # Wait until Redis acknowledged the subscription, so an event published right after a page
        # subscribed is not missed.
        self._ready.wait(timeout=5)

    def _listen(self) -> None:
        import redis

        while True:
            try:
                pubsub = redis.Redis.from_url(self.redis_url).pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(self.channel)
                pubsub.get_message(timeout=5)  # the subscribe confirmation
                self._ready.set()
                for message in pubsub.listen():
                    if message.get("type") != "message":
                        continue
                    try:
                        events = json.loads(message["data"])
                    except (TypeError, ValueError):
                        continue
                    if isinstance(events, list):
                        self._local.publish([e for e in events if isinstance(e, dict)])
            except redis.RedisError:
                log.warning("live Redis listener lost its connection; reconnecting", exc_info=True)
                time.sleep(1)


Broker = LocalBroker | RedisBroker

_brokers: dict[str, Broker] = {}
_brokers_lock = threading.Lock()


def broker_for(redis_url: str) -> Broker:
    """The process's broker for this Redis URL ("" = in-process), made once and shared."""
    with _brokers_lock:
        broker = _brokers.get(redis_url)
        if broker is None:
            broker = RedisBroker(redis_url) if redis_url else LocalBroker()
            _brokers[redis_url] = broker
        return broker


def attach(maker: sessionmaker[Session], broker: Broker) -> None:
    """Publish the changes committed through sessions of `maker` to `broker` (once per maker)."""
    if getattr(maker, "_chat2order_live", None) is broker:
        return
    maker._chat2order_live = broker
    event.listen(maker, "after_flush", _collect)
    event.listen(maker, "after_rollback", _drop)
    event.listen(maker, "after_commit", lambda session: _publish(session, broker))


def changes(session: Session) -> list[dict[str, Any]]:
    """The events of the current flush (called from `after_flush`, while the history is still there)."""
    found: list[dict[str, Any]] = []
    touched_orders: set[int] = set()
    # Orders of this flush by id: new ones are not in the identity map until the flush is over.
    orders_here = {obj.id: obj for obj in (*session.new, *session.dirty) if isinstance(obj, Order)}
    for obj in session.new:
        if isinstance(obj, InboundMessage):
            found.append({"type": "inbound", "id": obj.id})
        elif isinstance(obj, OutboundMessage):
            found.append({"type": "outbound", "id": obj.id, "order_id": obj.order_id})
        elif isinstance(obj, Order):
            touched_orders.add(obj.id)
        elif isinstance(obj, OrderLine) and obj.order_id is not None:
            touched_orders.add(obj.order_id)
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, Order) and inspect(obj).attrs.status.history.has_changes():
            touched_orders.add(obj.id)
        elif isinstance(obj, OrderLine) and obj.order_id is not None and session.is_modified(obj):
            touched_orders.add(obj.order_id)
    for order_id in sorted(i for i in touched_orders if i is not None):
        order = orders_here.get(order_id) or session.identity_map.get(
            inspect(Order).identity_key_from_primary_key((order_id,))
        )
        found.append({"type": "order", "id": order_id, "status": getattr(order, "status", None)})
    return found


def _collect(session: Session, _flush_context: Any) -> None:
    session.info.setdefault(_PENDING, []).extend(changes(session))


def _drop(session: Session) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop(INSERTED_OUTSIDE_FLUSH, None)


def _publish(session: Session, broker: Broker) -> None:
    events = session.info.pop(_PENDING, None) or []
    # New orders a service inserted with Core statements (`orders.insert_new`): no flush saw them.
    events += [
        {"type": "order", "id": obj.id, "status": obj.status}
        for obj in session.info.pop(INSERTED_OUTSIDE_FLUSH, ())
        if isinstance(obj, Order)
    ]
    if not events:
        return
    unique = list({json.dumps(e, sort_keys=True): e for e in events}.values())
    try:
        broker.publish(unique)
    except Exception:
        log.warning("could not publish live events", exc_info=True)


def serve_socket(ws: Any, maker: sessionmaker[Session], broker: Broker) -> None:
    """Run one page's WebSocket: authenticate with the first frame, then push the events it may see.

    Frames sent: `{"type": "ready"}` once authenticated, then events (`inbound` / `outbound` / `order`
    with ids) and `{"type": "ping"}` every PING_SECONDS so proxies keep the socket open. A bad token gets
    `{"type": "error", "code": "unauthorized"}` and the socket is closed.
    """
    from chat2order import auth
    from chat2order.ordering import conversations

    first = ws.receive(timeout=AUTH_TIMEOUT_SECONDS)
    token = None
    try:
        token = json.loads(first).get("token") if first else None
    except (TypeError, ValueError, AttributeError):
        token = None
    with maker() as session:
        principal = auth.resolve(session, token if isinstance(token, str) else None)
    if principal is None:
        ws.send(json.dumps({"type": "error", "code": "unauthorized"}))
        ws.close(reason=1008, message="unauthorized")
        return
    with broker.subscribe() as sub:
        ws.send(json.dumps({"type": "ready"}))
        last_ping = time.monotonic()
        while ws.connected:
            item = sub.get(timeout=1.0)
            if item is not None:
                with maker() as session:
                    visible = conversations.event_visible(session, principal, item)
                if visible:
                    ws.send(json.dumps(item))
            if time.monotonic() - last_ping >= PING_SECONDS:
                ws.send(json.dumps({"type": "ping"}))
                last_ping = time.monotonic()
