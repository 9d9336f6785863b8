"""File datasets: feature CSVs in, reports and figures out (written atomically)."""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from kedro.io import AbstractDataset
from kedro_datasets._typing import JSONPreview, TablePreview

from model_training.datasets import parsed, signing, transaction
from model_training.lib.core.errors import InputError, Problem


def _display(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def read_utf8(path: Path, what: str) -> str:
    """A text file's content, or one message naming the line of the first byte
    that is not UTF-8 (a file saved as latin-1 or cp1252, say)."""
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(
            f"Unreadable {what}",
            [
                Problem(
                    f"{_display(path)}, line {line}",
                    f"not UTF-8 text: byte 0x{raw[exc.start]:02x} at offset {exc.start} "
                    "(the file was probably saved as latin-1 or Windows-1252)",
                    "save it as UTF-8 (e.g. `iconv -f latin1 -t utf-8 in > out`, or "
                    "'Save as: CSV UTF-8' in a spreadsheet)",
                )
            ],
        ) from None


def diagnose_csv(path: Path) -> tuple[str, str]:
    """Why a CSV cannot be read: (what, fix), naming the line or delimiter."""
    import csv
    import io

    if path.stat().st_size == 0:
        return "the file is empty (0 bytes)", "write the header row and the data rows"
    text = read_utf8(path, "feature file")
    lines = text.splitlines()
    header = lines[0] if lines else ""
    for delimiter, name in ((";", "semicolons"), ("\t", "tabs"), ("|", "'|'")):
        if delimiter in header and "," not in header:
            return (
                f"its fields are separated by {name}, not commas (header: "
                f"{header[:80]!r})",
                "save it as comma-separated CSV (in polars: "
                f"pl.read_csv(path, separator={delimiter!r}).write_csv(path))",
            )
    expected = None
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if expected is None:
            expected = len(row)
        elif row and len(row) != expected:
            return (
                f"line {number} has {len(row)} fields where the header has {expected}",
                f"fix line {number} (an unquoted comma inside a value, or a missing "
                "field); every line needs the same number of fields",
            )
    return "", ""


def _refuse_duplicate_header(path: Path, where: str) -> None:
    """A header naming one column twice: polars would rename one silently."""
    import csv

    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            header = next(csv.reader(handle), [])
    except (UnicodeDecodeError, OSError):
        return  # the reader's own diagnosis names these
    seen: dict[str, int] = {}
    for position, name in enumerate(header, start=1):
        if name in seen:
            raise InputError(
                "Unreadable feature file",
                [
                    Problem(
                        f"{where}, line 1",
                        f"the header names column '{name}' twice (fields "
                        f"{seen[name]} and {position})",
                        "give every column its own name",
                    )
                ],
            )
        seen[name] = position


class _LocalFileDataset(AbstractDataset[Any, Any]):
    def __init__(
        self, *, filepath: str, metadata: dict[str, Any] | None = None
    ) -> None:
        self._filepath = Path(filepath)
        self.metadata = metadata

    @property
    def local_path(self) -> Path:
        """The file or folder on disk."""
        return self._filepath

    @property
    def _source(self) -> Path:
        """Where to read: this run's staged output when it wrote one (see transaction)."""
        return transaction.read_path(self._filepath)

    def _target(self, mode: str = "file") -> Path:
        """Where to write: staged during a run, promoted when the run succeeds."""
        return transaction.write_path(self._filepath, mode)

    def _exists(self) -> bool:
        return self._source.exists()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": self._filepath.as_posix()}


class FeatureSplitDataset(_LocalFileDataset):
    """One split of an epic's features (``{split}_features.csv``) as polars.

    Every column's type is inferred from the whole file, so a column that holds
    codes in its first rows and text further down is read as text, not cut.
    An unchanged file is parsed once per process (:mod:`parsed`).
    ``missing_fix`` is what a message about a missing file tells the user to do.
    """

    def __init__(
        self,
        *,
        filepath: str,
        missing_fix: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(filepath=filepath, metadata=metadata)
        self._missing_fix = missing_fix or (
            "run the feature-engineering stage for this epic, or create the epic "
            "with `uv run model-training-epic from-csv ...`; check "
            "`--params epic_id=...` for a typo"
        )

    def load(self) -> pl.DataFrame:
        path = self._source
        where = _display(self._filepath)
        if not path.is_file():
            raise InputError(
                "Missing feature file",
                [
                    Problem(
                        where,
                        "the file does not exist",
                        self._missing_fix,
                    )
                ],
            )
        frame = parsed.cached(path)
        if frame is not None:
            return frame
        _refuse_duplicate_header(path, where)
        try:
            frame = pl.read_csv(path, infer_schema_length=None)
            if frame.width == 1 and any(d in frame.columns[0] for d in ";\t|"):
                what, fix = diagnose_csv(path)  # one column: another delimiter
                if what:
                    raise InputError(
                        "Unreadable feature file", [Problem(where, what, fix)]
                    )
            return parsed.remember(path, frame)
        except (pl.exceptions.PolarsError, UnicodeDecodeError, OSError) as exc:
            what, fix = diagnose_csv(path)  # raises itself for a non-UTF-8 file
            if not what:
                first_line = (
                    str(exc).strip().splitlines()[0]
                    if str(exc).strip()
                    else type(exc).__name__
                )
                what = f"polars cannot read it as CSV ({first_line})"
                fix = (
                    "save it as UTF-8 CSV with a header row and the same number "
                    "of fields on every line"
                )
            raise InputError(
                "Unreadable feature file", [Problem(where, what, fix)]
            ) from None

    def save(self, data: pl.DataFrame) -> None:
        _atomic_write(self._target(), data.write_csv)

    def preview(self, nrows: int = 10) -> TablePreview:
        """The first ``nrows`` rows for kedro-viz (``{index, columns, data}``)."""
        head = pl.read_csv(self._source, n_rows=nrows, infer_schema_length=None)
        return TablePreview(
            {
                "index": list(range(head.height)),
                "columns": head.columns,
                "data": [list(row) for row in head.iter_rows()],
            }
        )


def _jsonable(value: Any) -> Any:
    """Turn numpy scalars and arrays into Python, NaN and infinities into null."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _abridge(value: Any, depth: int | None, items: int = 5) -> Any:
    """``value`` with lists cut to ``items`` and objects below ``depth`` summarised."""
    if depth is None:
        return value
    if isinstance(value, dict):
        if depth <= 0:
            return f"{{... {len(value)} keys}}"
        return {k: _abridge(v, depth - 1, items) for k, v in value.items()}
    if isinstance(value, list):
        if depth <= 0:
            return f"[... {len(value)} items]"
        head = [_abridge(v, depth - 1, items) for v in value[:items]]
        return head + ([f"... {len(value) - items} more"] if len(value) > items else [])
    return value


def _atomic_write(path: Path, write: Any) -> None:
    """Write through a temporary file in the same folder, then rename into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # as an ordinary file, not mkstemp's 0600
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class ReportJSONDataset(_LocalFileDataset):
    """A JSON report, written atomically; NaN and infinities become ``null``."""

    def load(self) -> Any:
        return json.loads(self._source.read_text(encoding="utf-8"))

    def preview(self, max_chars: int = 20_000) -> JSONPreview:
        """The report for kedro-viz; a long one is abridged level by level.

        Lists keep their first items and nested objects are summarised from the
        deepest level up until the text fits in ``max_chars``; the top-level keys
        always show.
        """
        data = self.load()
        for depth in (None, 4, 3, 2, 1):
            text = json.dumps(_abridge(data, depth), indent=2)
            if len(text) <= max_chars:
                return JSONPreview(text)
        return JSONPreview(text[:max_chars])

    def save(self, data: Any) -> None:
        text = json.dumps(_jsonable(data), indent=2, allow_nan=False) + "\n"
        _atomic_write(
            self._target(), lambda tmp: tmp.write_text(text, encoding="utf-8")
        )


class CSVTableDataset(FeatureSplitDataset):
    """A CSV table the stage writes (test predictions, SHAP values, scored rows).

    With ``optional: true`` an empty table is not written (an earlier run's file
    is removed), so a problem type without, e.g., SHAP values leaves no
    header-only file behind; loading a missing optional table gives an empty one.
    """

    def __init__(
        self,
        *,
        filepath: str,
        optional: bool = False,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(filepath=filepath, metadata=metadata)
        self._optional = optional

    def load(self) -> pl.DataFrame:
        if self._optional and not self._source.exists():
            return pl.DataFrame()
        return super().load()

    def save(self, data: pl.DataFrame) -> None:
        if self._optional and data.height == 0:
            transaction.remove(self._filepath)
            return
        super().save(data)


class SignedJoblibDataset(_LocalFileDataset):
    """A fitted model (or a dict of them) as joblib, signed when written.

    Loading checks the HMAC signature written beside the file before unpickling
    it (see :mod:`model_training.datasets.signing`): a file this project did not
    write, or one changed since, is refused with a message, never unpickled.
    """

    def load(self) -> Any:
        return signing.load(self._source, "fitted model file")

    def save(self, data: Any) -> None:
        target = self._target()
        # the signature is an output of its own, staged and promoted with the file
        signature = transaction.write_path(Path(f"{self._filepath}{signing.SUFFIX}"))

        def write(tmp: Path) -> None:
            signing.dump(data, tmp)
            os.replace(f"{tmp}{signing.SUFFIX}", signature)

        _atomic_write(target, write)
