"""The figures of a step, written as one folder of PNGs."""

from __future__ import annotations

import base64
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from kedro_datasets._typing import ImagePreview

from model_training.datasets.files import _LocalFileDataset


class FigureDirectoryDataset(_LocalFileDataset):
    """A folder of PNG figures saved from ``{name: matplotlib Figure}``.

    The figures are rendered into a temporary folder first, then moved into place
    one by one, so a failure while rendering leaves the earlier figures intact;
    once all are in place, figures an earlier run drew and this one did not are
    removed, so the folder always shows one run.
    Figures are closed after saving. Loading returns the PNG paths by name.
    """

    def __init__(
        self, *, filepath: str, dpi: int = 110, metadata: dict[str, Any] | None = None
    ) -> None:
        super().__init__(filepath=filepath, metadata=metadata)
        self._dpi = dpi

    def load(self) -> dict[str, Path]:
        return {p.stem: p for p in sorted(self._source.glob("*.png"))}

    def save(self, data: dict[str, Any]) -> None:
        import matplotlib.pyplot as plt

        folder = self._target("mirror")
        staging = Path(tempfile.mkdtemp(dir=folder, prefix=".staging-"))
        try:
            for name, figure in data.items():
                # the figures lay themselves out (constrained layout): a tight
                # bounding box, which draws each figure twice, is not asked
                figure.savefig(staging / f"{name}.png", dpi=self._dpi)
                plt.close(figure)
            for rendered in staging.iterdir():
                os.replace(rendered, folder / rendered.name)
            # figures of an earlier run that this run did not draw are stale
            drawn = {f"{name}.png" for name in data}
            for old in folder.glob("*.png"):
                if old.name not in drawn:
                    old.unlink()
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _exists(self) -> bool:
        return any(self._source.glob("*.png"))

    def preview(self, figure: str | None = None) -> ImagePreview:
        """One figure (the first by name unless ``figure`` names one) for kedro-viz."""
        figures = self.load()
        path = figures[figure] if figure else next(iter(figures.values()))
        return ImagePreview(base64.b64encode(path.read_bytes()).decode("ascii"))

    def _describe(self) -> dict[str, Any]:
        return {"filepath": self._filepath.as_posix(), "dpi": self._dpi}
