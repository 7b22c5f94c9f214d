"""Metrics read at scrape time, for `/metrics`: queue depth and orders by status.

These are facts about shared state (Redis, the orders table), not events of this process, so they are read
when Prometheus asks rather than counted as things happen: every web process answers the same, and nothing
drifts after a restart. Each read is one cheap call (RQ's `LLEN`/`ZCARD`, one grouped `SELECT`); a failing
read is logged and skipped so `/metrics` still answers while a dependency is down.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from chat2order import metrics
from chat2order.tables import Order

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

    from chat2order.runtime import Runtime

log = logging.getLogger(__name__)


def queue_depths(rt: Runtime) -> dict[str, int]:
    """Waiting jobs per queue: RQ's queue and its failed registry, or the in-process queue's backlog."""
    queue = rt.queue
    rq_queues = getattr(queue, "queues", None)
    if rq_queues is not None:  # RQQueue
        from rq.registry import FailedJobRegistry

        depths: dict[str, int] = {}
        for rq_queue in rq_queues:
            depths[rq_queue.name] = int(rq_queue.count)
            depths[f"{rq_queue.name}:failed"] = int(FailedJobRegistry(queue=rq_queue).count)
        return depths
    pending = getattr(queue, "pending", None)
    if callable(pending):
        return {"in-process": int(pending())}
    return {}


def orders_by_status(rt: Runtime) -> dict[str, int]:
    """Orders per status, with one grouped SELECT."""
    with rt.sessionmaker() as session:
        rows = session.execute(select(Order.status, func.count()).group_by(Order.status)).all()
    return {str(status): int(count) for status, count in rows}


class OrdersByStatus(Collector):
    """`chat2order_orders_by_status{status}`: a fresh family per scrape, so a status that empties drops out."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def collect(self) -> list[Metric]:
        family = GaugeMetricFamily("chat2order_orders_by_status", "Orders currently in each status", labels=["status"])
        try:
            counts = orders_by_status(self.rt)
        except Exception as exc:  # noqa: BLE001 - a scrape must still answer while the database is down
            log.warning("orders by status not collected: %r", exc)
            return []
        for status, count in sorted(counts.items()):
            family.add_metric([status], count)
        return [family]


def update_queue_depth(rt: Runtime) -> None:
    """Set `QUEUE_DEPTH` from the queue backing this runtime (a Redis outage leaves the last value)."""
    try:
        depths = queue_depths(rt)
    except Exception as exc:  # noqa: BLE001 - a scrape must still answer while Redis is down
        log.warning("queue depth not collected: %r", exc)
        return
    for name, depth in depths.items():
        metrics.QUEUE_DEPTH.labels(name).set(depth)


def render(rt: Runtime) -> tuple[bytes, str]:
    """The process (or multi-process) metrics followed by the scrape-time families."""
    update_queue_depth(rt)
    body, content_type = metrics.render()
    registry = CollectorRegistry(auto_describe=False)
    registry.register(OrdersByStatus(rt))
    return body + generate_latest(registry), content_type
