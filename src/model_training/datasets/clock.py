"""``run_clock``: when the run began, as a dataset, so the steps that keep to
the run's time budget declare it as an input (kedro-viz shows which do) and a
node called on its own gets a clock that starts when it is loaded."""

from __future__ import annotations

import time
from typing import Any

from kedro.io import AbstractDataset, DatasetError

# the start of the run in this process, while one runs
_RUN: dict[str, float] = {}


def mark_run_start(when: float | None = None) -> float:
    """Record the start of the run (the resource hook calls it first thing)."""
    _RUN["started"] = time.time() if when is None else when
    return _RUN["started"]


def clear_run_start() -> None:
    """Forget the start (the run ended)."""
    _RUN.pop("started", None)


class RunClockDataset(AbstractDataset[None, dict[str, Any]]):
    """Loads ``{"started": <epoch seconds>}``: the run's start, or now."""

    def __init__(self, metadata: dict[str, Any] | None = None) -> None:
        self.metadata = metadata

    def load(self) -> dict[str, Any]:
        return {"started": _RUN.get("started", time.time())}

    def save(self, data: None) -> None:
        raise DatasetError(
            "run_clock is read-only: the run's start is recorded by a hook"
        )

    def _describe(self) -> dict[str, Any]:
        return {"started": _RUN.get("started")}
