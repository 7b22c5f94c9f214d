"""Smoke tests of the benchmark scripts: they run at tiny sizes and print the JSON keys tracked over time.

No timing assertions (benchmarks print figures, tests never judge them); what is checked is that the
scripts run end to end and that what they measured was real work (lines found, orders stored).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PARSE_KEYS = {"msgs_per_s_10k", "p99_ms_10k", "baseline_msgs_per_s_10k", "msgs_per_s_100k", "index_build_s_100k",
              "index_mb_100k", "startup_s"}


def _run(*args: str) -> dict:
    out = subprocess.run([sys.executable, *args], check=False, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_bench_parse_prints_the_tracked_keys_with_lines_found() -> None:
    result = _run("scripts/bench_parse.py", "--json", "--sizes", "200,400", "--messages", "10", "--repeats", "1",
                  "--baseline", "5")

    assert PARSE_KEYS <= result.keys()
    assert all(result[key] is not None for key in PARSE_KEYS)
    assert result["sizes"]["400"]["lines_per_msg"] > 2  # the generated orders are read as orders


def test_bench_pipeline_stores_and_processes_orders_warm_cold_and_through_rq(redis_url: str) -> None:
    result = _run("scripts/bench_pipeline.py", "--json", "--messages", "6", "--cold", "2", "--rq", "3",
                  "--redis", redis_url)

    for key in ("intake_msgs_per_s", "warm_msgs_per_s", "cold_msgs_per_s", "rq_jobs_per_s"):
        assert result[key] is not None and result[key] > 0, key
    assert result["warm_outcome"]["statuses"] == {"awaiting_chef": 6}
    assert result["cold_outcome"]["statuses"] == {"awaiting_chef": 2}
    assert result["rq_finished"] == 3


def test_accuracy_generated_prints_rates_that_add_up() -> None:
    result = _run("scripts/accuracy_generated.py", "--sizes", "300", "--messages", "10")

    assert result["skus"] == 300
    assert 0 < result["same_product"] <= result["lines_read"]
    assert result["same_product"] + result["silent_wrong"] + result["flagged_wrong"] <= result["lines_read"] + 1e-9
