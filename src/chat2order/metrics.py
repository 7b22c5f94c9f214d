"""Prometheus metrics, defined once for every process (web, smtp, worker).

Web processes serve them at `/metrics`; workers expose them on their own port (`METRICS_PORT`). Under gunicorn
with several workers, set `PROMETHEUS_MULTIPROC_DIR` and the registry aggregates across processes.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

INBOUND = Counter("chat2order_inbound_messages_total", "Inbound messages by channel and outcome", ["channel", "outcome"])
PARSE_SECONDS = Histogram(
    "chat2order_parse_seconds",
    "Time to parse one message",
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
)
LINES = Counter("chat2order_order_lines_total", "Parsed order lines by outcome", ["outcome"])
BATCHED = Counter("chat2order_batched_jobs_total", "process_message jobs a worker ran in a batch, outside RQ")
ORDERS = Counter("chat2order_orders_total", "Order status transitions", ["status"])
DISPATCH = Counter("chat2order_dispatch_attempts_total", "Outbound send attempts by channel and result", ["channel", "result"])
# Read from Redis at scrape time by whichever web process answers: under gunicorn's multi-process mode the
# latest read wins instead of one stale series per worker pid.
QUEUE_DEPTH = Gauge("chat2order_queue_depth", "Jobs waiting in the queue", ["queue"], multiprocess_mode="mostrecent")
JOB_SECONDS = Histogram("chat2order_job_seconds", "Job run time", ["job"])


def render() -> tuple[bytes, str]:
    """The exposition text, aggregated across processes when running multi-process."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST
