"""Progress reporting for long onboarding jobs: a tqdm bar on stderr for people, nothing for tests.

Services take a `Progress` and call `stage(...)` / `advance(...)`; only the CLI decides to draw a bar.
"""

from __future__ import annotations

import sys
from typing import Any, Protocol


class Progress(Protocol):
    def stage(self, name: str, total: int | None) -> None: ...

    def advance(self, n: int = 1) -> None: ...

    def close(self) -> None: ...


class NoProgress:
    """Reports nothing (services' default)."""

    def stage(self, name: str, total: int | None) -> None:
        pass

    def advance(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


class TqdmProgress:
    """One tqdm bar per stage on stderr; silent when stderr is not a terminal or when `quiet`."""

    def __init__(self, quiet: bool = False, min_total: int = 0) -> None:
        self._quiet = quiet
        self._min_total = min_total
        self._bar: Any = None

    def stage(self, name: str, total: int | None) -> None:
        from tqdm import tqdm

        self.close()
        small = total is not None and total < self._min_total
        self._bar = tqdm(
            total=total, desc=name, unit="row", file=sys.stderr, leave=False, dynamic_ncols=True,
            disable=True if (self._quiet or small) else None,  # None: off when stderr is not a TTY
        )

    def advance(self, n: int = 1) -> None:
        if self._bar is not None:
            self._bar.update(n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
