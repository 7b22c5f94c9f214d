"""Where the tests find things outside the repository: the shared benchmark folder sits beside the checkout
(`../shared`), on a developer's machine and in CI alike."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
DEV = SHARED / "bench" / "dev"
SCORER = SHARED / "bench" / "score.py"
