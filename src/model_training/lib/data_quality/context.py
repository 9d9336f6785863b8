"""What every data-quality check shares: the result type and the splits being checked."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

from model_training.lib.core.errors import Problem
from model_training.lib.core.params import Thresholds
from model_training.lib.core.schema import FeatureSchema
from model_training.lib.core.spec import ModelingSpec

SPLITS = ("train", "validation", "test")


_POLARS_KIND = {
    "int": "numeric",
    "float": "numeric",
    "bool": "bool",
    "string": "text",
    "date": "temporal",
    "datetime": "temporal",
}


@dataclass
class Check:
    """The outcome of one data-quality check."""

    name: str
    status: str
    message: str
    columns: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The check as report JSON (problems rendered as text)."""
        out = {
            "name": self.name,
            "status": self.status,
            "message": self.message,
            "columns": self.columns,
            "details": self.details,
        }
        if self.problems:
            out["problems"] = [
                {"where": p.where, "what": p.what, "fix": p.fix} for p in self.problems
            ]
        return out


def column_kind(dtype: pl.DataType) -> str:
    if dtype.is_numeric():
        return "numeric"
    if dtype == pl.Boolean:
        return "bool"
    if dtype.is_temporal():
        return "temporal"
    if dtype == pl.Null:
        return "null"
    return "text"


class Context:
    """The inputs shared by every check."""

    def __init__(
        self,
        frames: dict[str, pl.DataFrame],
        schema: FeatureSchema,
        spec: ModelingSpec,
        thresholds: Thresholds,
    ) -> None:
        self.frames = frames
        self.held_out = [s for s in frames if s != "train"]
        self.schema = schema
        self.spec = spec
        self.t = thresholds
        spec_roles = {
            spec.target,
            spec.group_column,
            spec.time_column,
            spec.region_column,
            spec.label_column,
            *spec.id_columns,
        }
        self.features = [
            c.name
            for c in schema.columns
            if c.role == "feature" and c.name not in spec_roles
        ]

    def file(self, split: str) -> str:
        return self.schema.split_file(split)

    def present(self, column: str) -> bool:
        return all(column in f.columns for f in self.frames.values())

    def declared(self, column: str) -> str | None:
        info = self.schema.column(column)
        return info.dtype if info else None
