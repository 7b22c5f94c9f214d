"""`chat2order predict`: a dataset folder through the live intake and processing, predictions on stdout."""

from __future__ import annotations

import builtins
import io
import json
import pathlib
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from chat2order.cli import main

MINI = Path(__file__).resolve().parents[1] / "data" / "predict_mini"
from tests.paths import DEV

SCORER = DEV.parent / "score.py"


def _run(dataset: Path) -> list[dict]:
    result = CliRunner().invoke(main, ["predict", "--no-progress", str(dataset)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


@pytest.fixture
def gold_is_forbidden(monkeypatch):
    """Opening any gold.jsonl fails the test: predict must never read the answers."""
    real_open, real_path_open = builtins.open, pathlib.Path.open

    def guarded_open(file, *args, **kwargs):
        if str(file).endswith("gold.jsonl"):
            raise AssertionError("predict opened gold.jsonl")
        return real_open(file, *args, **kwargs)

    def guarded_path_open(self, *args, **kwargs):
        if self.name == "gold.jsonl":
            raise AssertionError("predict opened gold.jsonl")
        return real_path_open(self, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded_open)
    monkeypatch.setattr(io, "open", guarded_open)
    monkeypatch.setattr(pathlib.Path, "open", guarded_path_open)


def test_predict_writes_one_prediction_per_message_in_order(gold_is_forbidden) -> None:
    predictions = _run(MINI)
    assert [p["id"] for p in predictions] == ["p001", "p002", "p003", "p004", "p005"]
    for prediction in predictions:
        assert prediction["intent"] in ("order", "other")
        for line in prediction["lines"]:
            assert set(line) >= {"sku", "quantity", "unit", "needs_review"}
            assert line["sku"] is not None or line["text"]


def test_predict_reads_back_the_draft_order_lines_and_the_asked_day() -> None:
    first = _run(MINI)[0]
    assert first["intent"] == "order" and first["delivery_date"] == "2026-11-25"
    assert [(l["sku"], l["quantity"], l["unit"]) for l in first["lines"]] == [
        ("TOM-ROMA-25", 2.0, "case"), ("LEM-115", 1.0, "case"), ("CIL-BN", 3.0, "bunch")]


def test_not_carried_item_is_predicted_without_sku_and_with_the_chefs_words() -> None:
    second = _run(MINI)[1]
    assert {"sku": None, "quantity": 1.0, "unit": "tub", "needs_review": False, "text": "1 tub burrata"} in second["lines"]


def test_message_that_is_not_an_order_is_predicted_as_other_without_lines() -> None:
    third = _run(MINI)[2]
    assert (third["intent"], third["lines"], third["delivery_date"]) == ("other", [], None)


def test_a_later_message_is_not_read_as_a_reply_to_an_earlier_draft() -> None:
    # p002 ("also 1 case limes ...") comes 35 minutes after p001's draft, which nobody confirmed.
    second = _run(MINI)[1]
    assert second["lines"][0]["sku"] == "LIM-175"


def test_predict_leaves_no_database_behind(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    _run(MINI)
    assert list(tmp_path.iterdir()) == []


def test_predict_refuses_a_folder_without_messages(tmp_path) -> None:
    result = CliRunner().invoke(main, ["predict", "--no-progress", str(tmp_path)])
    assert result.exit_code == 1
    assert "messages.jsonl" in result.output


@pytest.mark.slow
@pytest.mark.skipif(not DEV.is_dir() or not SCORER.is_file(), reason="shared dev benchmark not present")
def test_predict_on_the_dev_set_scores_with_the_benchmark_scorer(tmp_path) -> None:
    predictions = _run(DEV)
    assert len(predictions) == 420
    path = tmp_path / "pred.jsonl"
    path.write_text("".join(json.dumps(p) + "\n" for p in predictions))
    scored = subprocess.run([sys.executable, str(SCORER), str(DEV), str(path)], capture_output=True, text=True,
                            check=True)
    overall = next(line.split() for line in scored.stdout.splitlines() if line.startswith("all "))
    assert overall[1] == "420"
    assert float(overall[2]) > 0.5  # a sanity floor for the pipeline; the parser's own targets are its README's
