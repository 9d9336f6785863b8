"""Reports written atomically: the run's HTML page, timestamped monitoring reports."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from model_training.datasets.files import _atomic_write, _jsonable, _LocalFileDataset


class HTMLReportDataset(_LocalFileDataset):
    """One self-contained HTML page; staged during a run like every output,
    written through a temporary file, so a reader never sees half a page."""

    def load(self) -> str:
        return self._source.read_text(encoding="utf-8")

    def save(self, data: Any) -> None:
        if not isinstance(data, str):
            raise TypeError(f"expected the page as a string, got {type(data).__name__}")
        _atomic_write(
            self._target(), lambda tmp: tmp.write_text(data, encoding="utf-8")
        )


class TimestampedJSONDataset(_LocalFileDataset):
    """A folder of JSON reports, one per check, named by the report's own
    ``checked_at`` time (``20261203T010203Z.json``); earlier ones are kept.
    Loading returns the newest."""

    def load(self) -> Any:
        reports = sorted(self._source.glob("*.json"))
        if not reports:
            raise FileNotFoundError(f"no report in {self._filepath}")
        return json.loads(reports[-1].read_text(encoding="utf-8"))

    def save(self, data: Any) -> None:
        stamp = datetime.fromisoformat(data["checked_at"]).astimezone(UTC)
        folder = self._target("merge")
        text = json.dumps(_jsonable(data), indent=2, allow_nan=False) + "\n"
        _atomic_write(
            folder / f"{stamp:%Y%m%dT%H%M%SZ}.json",
            lambda tmp: tmp.write_text(text, encoding="utf-8"),
        )

    def _exists(self) -> bool:
        return any(self._source.glob("*.json"))
