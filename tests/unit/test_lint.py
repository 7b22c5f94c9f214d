"""The code stays as ruff (pinned in requirements.lock, configured in pyproject.toml) wants it: a finding
fails CI here instead of piling up unnoticed between sessions (23 had, by 2026-11-28)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def test_ruff_finds_nothing_in_src_tests_and_scripts() -> None:
    ruff = Path(sys.executable).with_name("ruff")
    command = [str(ruff)] if ruff.exists() else [shutil.which("ruff") or pytest.fail("ruff is not installed")]
    done = subprocess.run(
        [*command, "check", "--no-cache", "src", "tests", "scripts"],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
