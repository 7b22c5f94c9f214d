"""The gunicorn hooks keep Prometheus multi-process files honest: fresh at start, dead workers dropped."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from chat2order import gunicorn_conf


def test_on_starting_creates_the_directory_and_removes_stale_metric_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path / "prom"
    directory.mkdir()
    (directory / "counter_123.db").write_bytes(b"stale")
    (directory / "keep.txt").write_text("not ours")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(directory))

    gunicorn_conf.on_starting(server=None)

    assert sorted(p.name for p in directory.iterdir()) == ["keep.txt"]


def test_on_starting_without_multiprocess_dir_touches_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    monkeypatch.chdir(tmp_path)

    gunicorn_conf.on_starting(server=None)

    assert list(tmp_path.iterdir()) == []


def test_child_exit_drops_the_dead_workers_live_gauges(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    (tmp_path / "gauge_livesum_4242.db").write_bytes(b"x")
    (tmp_path / "counter_4242.db").write_bytes(b"x")

    gunicorn_conf.child_exit(server=None, worker=SimpleNamespace(pid=4242))

    assert sorted(p.name for p in tmp_path.iterdir()) == ["counter_4242.db"]
