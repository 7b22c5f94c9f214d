"""`chat2order predict DATASET_DIR`: benchmark predictions (bench/FORMAT.md) on stdout, progress on stderr."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import IO

import click

from chat2order.cli.base import Env, pass_env


@click.command("predict")
@click.argument("dataset_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.File("w", encoding="utf-8"), default="-",
              help="Where to write the predictions (default: standard output).")
@click.option("--progress/--no-progress", default=True, help="Progress bar on standard error.")
@pass_env
def predict(env: Env, dataset_dir: Path, output: IO[str], progress: bool) -> None:
    """Predict every message of DATASET_DIR through the live intake and parser (never reads gold.jsonl).

    The folder is loaded into a temporary embedded store; each message is received and processed like a
    live one; one JSON prediction per message is written in the order of messages.jsonl.
    """
    from chat2order.ordering.benchmark import PredictStats, predict_dataset

    stats = PredictStats()
    started = time.perf_counter()
    for prediction in predict_dataset(dataset_dir, stats=stats, progress=progress):
        output.write(json.dumps(prediction, ensure_ascii=False) + "\n")
    output.flush()
    elapsed = time.perf_counter() - started
    click.echo(
        f"predicted {stats.messages} messages in {elapsed:.1f} s"
        f" ({len(stats.failed)} failed, {len(stats.not_processed)} held by intake)",
        err=True,
    )
    for problem in stats.failed + stats.not_processed:
        click.echo(f"  {problem}", err=True)


COMMANDS = [predict]
