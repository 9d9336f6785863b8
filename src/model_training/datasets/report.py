"""A text page written atomically: the run's HTML report."""

from __future__ import annotations

from typing import Any

from model_training.datasets.files import _atomic_write, _LocalFileDataset


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
