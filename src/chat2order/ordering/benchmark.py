"""`chat2order predict`: run a benchmark dataset through the live pipeline and read back what it made.

The dataset folder (bench/FORMAT.md) is loaded into a temporary embedded store (SQLite in a temporary
folder, deleted afterwards) with `onboarding.datasets.load_dataset`, which never opens `gold.jsonl`. Each
message of `messages.jsonl` is then, in order, handed to `intake.receive` exactly like a live message
(channel, received time, and the restaurant/supplier hints an authenticated channel would give) and
processed inline by `processing.process_message`. The prediction is read back from the database: the
draft order's lines (SKU, quantity, unit, needs_review; no SKU and the chef's words when not carried), the
intent and the delivery day the chef asked for (`InboundMessage.meta["parse"]`). Nothing is sent: the
runtime's queue only records deliveries.

Each message gets a contact of its own (a conversation of its own): the benchmark scores every message
as a standalone order, so an unanswered draft from an earlier message must not turn a later message into
a reply to it. Drafts are never history either (history is confirmed/dispatched orders only).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import selectinload

from chat2order.config import Settings
from chat2order.errors import InvalidInput
from chat2order.jobs import RecordingQueue
from chat2order.tables import Contact, InboundMessage, Order, OrderLine, Restaurant

log = logging.getLogger(__name__)


@dataclass
class PredictStats:
    messages: int = 0
    failed: list[str] = field(default_factory=list)
    not_processed: list[str] = field(default_factory=list)  # stored but held by intake (status says why)


def read_messages(path: Path) -> list[dict[str, Any]]:
    records = []
    with (path / "messages.jsonl").open(encoding="utf-8") as fh:
        for number, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            try:
                records.append(json.loads(raw))
            except json.JSONDecodeError as exc:
                raise InvalidInput(f"messages.jsonl, line {number}: {exc}") from exc
    return records


def predict_dataset(
    path: Path, *, stats: PredictStats | None = None, progress: bool = False
) -> Iterator[dict[str, Any]]:
    """Yield one prediction (FORMAT.md) per message of the dataset at `path`, in order."""
    from tqdm import tqdm

    from chat2order.db import make_engine, session_factory
    from chat2order.migrate import upgrade
    from chat2order.onboarding.datasets import load_dataset
    from chat2order.runtime import Runtime

    path = Path(path)
    if not (path / "messages.jsonl").is_file():
        raise InvalidInput(f"{path}: no messages.jsonl (not a benchmark-format dataset folder?)")
    stats = stats if stats is not None else PredictStats()
    records = read_messages(path)
    with tempfile.TemporaryDirectory(prefix="c2o-predict-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'predict.sqlite3'}"
        settings = Settings(database_url=url, var_dir=Path(tmp), outbox_dir=Path(tmp) / "outbox")
        engine = make_engine(url)
        event.listen(engine, "connect", _throwaway_store)
        try:
            upgrade(url, engine=engine)
            maker = session_factory(engine)
            loaded = load_dataset(maker, path)
            rt = Runtime(settings, engine=engine, sessionmaker=maker, queue=RecordingQueue())
            contacts = _contacts(rt, loaded.restaurants, records)
            for record in tqdm(records, desc="predict", unit="msg", file=None, disable=not progress):
                stats.messages += 1
                yield _predict_one(rt, loaded, contacts, record, stats)
        finally:
            engine.dispose()


def _throwaway_store(dbapi_conn: Any, _record: Any) -> None:
    # The store is deleted when predict ends: no need to wait for the disk at every commit.
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA synchronous=OFF")
    cursor.close()


def _contacts(rt: Any, restaurants: dict[str, int], records: list[dict[str, Any]]) -> dict[str, int]:
    """A contact per message (see module docstring), in the restaurant's locale."""
    made: dict[str, int] = {}
    with rt.sessionmaker.begin() as session:
        locales = {rid: loc for rid, loc in session.execute(select(Restaurant.id, Restaurant.locale))}
        for record in records:
            restaurant_id = restaurants.get(record.get("restaurant", ""))
            if restaurant_id is None:
                continue
            contact = Contact(
                restaurant_id=restaurant_id,
                name=f"bench {record['id']}"[:200],
                locale=locales.get(restaurant_id),
                role="chef",
            )
            session.add(contact)
            session.flush()
            made[record["id"]] = contact.id
    return made


def _predict_one(
    rt: Any, loaded: Any, contacts: dict[str, int], record: dict[str, Any], stats: PredictStats
) -> dict[str, Any]:
    from chat2order.ordering import intake, processing

    message_id = str(record["id"])
    empty = {"id": message_id, "intent": "other", "delivery_date": None, "lines": []}
    restaurant_id = loaded.restaurants.get(record.get("restaurant"))
    supplier_id = loaded.suppliers.get(record.get("supplier"))
    contact_id = contacts.get(message_id)
    if restaurant_id is None or supplier_id is None or contact_id is None:
        stats.failed.append(f"{message_id}: unknown restaurant or supplier")
        return empty
    channel = record.get("channel") or "sms"
    restaurant_slug = record.get("restaurant", "")
    sender = (
        loaded.contact_emails.get(restaurant_slug)
        if channel in ("email", "chat") or restaurant_slug not in loaded.contact_phones
        else loaded.contact_phones[restaurant_slug]
    )
    received = intake.receive(
        rt,
        intake.Incoming(
            channel=channel,
            provider_id=f"bench:{message_id}",
            sender=sender or f"bench:{message_id}",
            recipient=None,
            body=record.get("text") or "",
            raw=json.dumps(record, ensure_ascii=False),
            received_at=dt.datetime.fromisoformat(record["received_at"]) if record.get("received_at") else None,
            restaurant_id=restaurant_id,
            supplier_id=supplier_id,
            contact_id=contact_id,
        ),
    )
    if received.status != intake.RECEIVED:
        stats.not_processed.append(f"{message_id}: {received.status}")
        return empty
    try:
        processing.process_message(rt, received.message_id)
    except Exception as exc:  # noqa: BLE001 - one bad message must not stop the run; it is counted and reported
        log.warning("predict: message %s failed: %r", message_id, exc)
        stats.failed.append(f"{message_id}: {type(exc).__name__}: {exc}")
        return empty
    return read_back(rt, received.message_id, message_id)


def read_back(rt: Any, inbound_id: int, message_id: str) -> dict[str, Any]:
    """The prediction record for one processed inbound message, from what is stored."""
    with rt.sessionmaker() as session:
        message = session.get(InboundMessage, inbound_id)
        assert message is not None
        parsed = (message.meta or {}).get("parse") or {}
        order = session.scalar(
            select(Order)
            .where(Order.source_message_id == inbound_id)
            .options(selectinload(Order.lines).selectinload(OrderLine.item))
        )
        lines = []
        for line in order.lines if order is not None else ():
            sku = line.item.sku if line.item is not None else None
            lines.append(
                {
                    "sku": sku,
                    "quantity": float(line.quantity) if line.quantity is not None else None,
                    "unit": line.unit,
                    "needs_review": bool(line.needs_review),
                    **({"text": line.text} if sku is None else {}),
                }
            )
        return {
            "id": message_id,
            "intent": parsed.get("intent") or ("order" if order is not None else "other"),
            "delivery_date": parsed.get("requested_delivery_date"),
            "lines": lines,
        }
