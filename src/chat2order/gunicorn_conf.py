"""Gunicorn hooks for the web process: Prometheus multi-process mode across gunicorn's workers.

Each gunicorn worker is its own process with its own counters, so `/metrics` answered by one worker would
show a fraction of the traffic. With `PROMETHEUS_MULTIPROC_DIR` set (the Procfile sets it), prometheus-client
writes every worker's values to files there and `/metrics` sums them. The directory must start empty (stale
files from a previous run would be added in) and a dead worker's live gauges must be dropped: these hooks
do both. Used as `gunicorn -c python:chat2order.gunicorn_conf ...` and by `chat2order serve`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def on_starting(server: Any) -> None:
    """In the master, before any worker starts: create the metrics directory and remove stale files."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        return
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink(missing_ok=True)


def child_exit(server: Any, worker: Any) -> None:
    """A worker died or was recycled: drop its live gauges from the aggregate."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
