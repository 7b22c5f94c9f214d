"""Loader for the parser's language data files under `models/` (clean-up, dates and intent cue words).

The files are TOML, one per topic, keyed by two-letter language. They are read on first use and cached:
the parser stays pure (same inputs, same output) and nothing is read at import time.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Any

# src/chat2order/parsing/_langdata.py -> repository root is three folders up from the package folder.
MODELS_DIR = Path(__file__).resolve().parents[3] / "models"

LANGUAGES = ("en", "pt", "fr", "it", "es")


@cache
def load(area: str, name: str) -> dict[str, Any]:
    """The parsed TOML file `models/<area>/<name>.toml`."""
    with open(MODELS_DIR / area / f"{name}.toml", "rb") as fh:
        return tomllib.load(fh)
