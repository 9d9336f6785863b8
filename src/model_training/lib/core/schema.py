"""The feature schema of an epic: each column's type, role and allowed values."""

from __future__ import annotations

from pydantic import (
    model_validator,
)

from model_training.lib.core.parsing import Strict
from model_training.lib.core.spec import ColumnDtype, ColumnRole, Label


class ColumnInfo(Strict):
    """One column of the feature files."""

    name: str
    dtype: ColumnDtype
    role: ColumnRole = "feature"
    sensitive: bool = False
    description: str = ""
    values: list[Label] | None = None
    unit: str | None = None


class FeatureSchema(Strict):
    """The machine-readable feature documentation of an epic.

    ``source`` is filled by the dataset that loaded it (the schema file's path);
    the split files sit beside it as ``{split}_features.csv``.
    """

    epic_id: str
    columns: list[ColumnInfo]
    source: str | None = None

    @model_validator(mode="after")
    def _unique(self) -> FeatureSchema:
        names = [c.name for c in self.columns]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise ValueError(f"columns listed twice: {', '.join(duplicated)}")
        return self

    def names(self, role: str) -> list[str]:
        """Return the column names with one role, in file order."""
        return [c.name for c in self.columns if c.role == role]

    def column(self, name: str) -> ColumnInfo | None:
        """Return one column's info, or None."""
        return next((c for c in self.columns if c.name == name), None)

    def split_file(self, split: str) -> str:
        """Return the path of a split's file, for messages."""
        if not self.source:
            return f"{split}_features.csv"
        folder = self.source.rsplit("/", 1)[0] if "/" in self.source else "."
        return f"{folder}/{split}_features.csv"
