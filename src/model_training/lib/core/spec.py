"""The modeling spec and the feature schema: typed, validated, with defaults.

The modeling spec (``docs/objectives/user_stories/{epic}/modeling_spec.yml``)
holds what the stage calls Modeling Requirements and Specifications. The feature
schema (``data/4_processed/{epic}/features/feature_schema.yml``) is the
machine-readable part of the feature documentation: each column's type and role.

Both are parsed here with pydantic models that forbid unknown keys, so a typo
stops the run with a message naming the file and key. Checks that need the data
(is the target a column?) live in :mod:`model_training.lib.data_quality.checks`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from model_training.lib.core.kinds import PROBLEM_TYPES, Kind, kind
from model_training.lib.core.metrics import METRICS, canonical, metrics_for
from model_training.lib.core.parsing import Strict

ProblemTypeName = Literal[PROBLEM_TYPES]  # type: ignore[valid-type]


Label = str | int | float | bool


def _valid_frequency(value: str | None) -> bool:
    import pandas as pd

    try:
        pd.tseries.frequencies.to_offset(value)
    except (ValueError, TypeError):
        return False
    return True


class Derivation(Strict):
    """How a sensitive group is derived from a column.

    ``split``: the text before ``sep`` (e.g. ``male`` from ``male : single``).
    ``bins``: numeric bands cut at ``edges`` (right-closed), named by ``labels``.
    ``map``: a value-to-group mapping; unmapped values keep their own name.
    """

    kind: Literal["split", "bins", "map"]
    sep: str | None = None
    part: int = 0
    edges: list[float] | None = None
    labels: list[str] | None = None
    mapping: dict[str, str] | None = None

    @model_validator(mode="after")
    def _complete(self) -> Derivation:
        if self.kind == "split" and not self.sep:
            raise ValueError("a 'split' derivation needs 'sep'")
        if self.kind == "bins":
            if not self.edges:
                raise ValueError("a 'bins' derivation needs 'edges'")
            if sorted(self.edges) != list(self.edges):
                raise ValueError("'edges' must be increasing")
            if self.labels is not None and len(self.labels) != len(self.edges) + 1:
                raise ValueError("'labels' needs one more entry than 'edges'")
        if self.kind == "map" and not self.mapping:
            raise ValueError("a 'map' derivation needs 'mapping'")
        return self


class SensitiveFeature(Strict):
    """A sensitive attribute for fairness checks, possibly derived from a column."""

    name: str
    column: str
    derive: Derivation | None = None


class CostMatrix(Strict):
    """Cost of each decision: ``costs[actual][predicted]`` in ``labels`` order."""

    labels: list[Label]
    costs: list[list[float]]

    @model_validator(mode="after")
    def _square(self) -> CostMatrix:
        n = len(self.labels)
        if n < 2:
            raise ValueError("needs at least two labels")
        if len(set(map(str, self.labels))) != n:
            raise ValueError("labels must be unique")
        if len(self.costs) != n or any(len(row) != n for row in self.costs):
            raise ValueError(
                f"costs must be a {n}x{n} table (rows: actual, columns: predicted)"
            )
        if any(c < 0 for row in self.costs for c in row):
            raise ValueError("costs must not be negative")
        return self


class MetricBound(Strict):
    """An acceptance threshold on one metric."""

    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _one(self) -> MetricBound:
        if self.min is None and self.max is None:
            raise ValueError("give 'min' or 'max'")
        return self


class AcceptanceCriteria(Strict):
    """What the user story accepts, checked on the test split.

    ``metrics``: absolute bounds (``{roc_auc: {min: 0.75}}``).
    ``beats_best_baseline``: metrics on which the final model must be strictly
    better than every baseline, refitted on train + validation and scored on the
    same test rows with the same decision threshold (a relative criterion, e.g.
    "an expected cost below the best baseline's").
    ``latency_p95_ms``: single-row latency budget.
    """

    metrics: dict[str, MetricBound] = Field(default_factory=dict)
    beats_best_baseline: list[str] = Field(default_factory=list)
    latency_p95_ms: Annotated[float, Field(gt=0)] | None = None


class SearchSpec(Strict):
    """Hyperparameter search strategy and budgets."""

    strategy: Literal["tpe", "random", "grid"] = "tpe"
    n_trials: Annotated[int, Field(ge=1)] = 30
    timeout_s: Annotated[float, Field(gt=0)] = 300.0
    per_model_timeout_s: Annotated[float, Field(gt=0)] | None = None
    top_k: Annotated[int, Field(ge=1)] = 3


class CrossValidationSpec(Strict):
    """Cross-validation approach; ``auto`` picks it from the spec and the data."""

    strategy: Literal[
        "auto",
        "kfold",
        "stratified_kfold",
        "group_kfold",
        "stratified_group_kfold",
        "time_series",
        "spatial",
    ] = "auto"
    n_splits: Annotated[int, Field(ge=2, le=20)] = 5
    gap: Annotated[int, Field(ge=0)] = 0


class ModelingSpec(Strict):
    """The modeling requirements and specifications of one epic.

    ``source`` is filled by the dataset that loaded the spec, so that messages can
    name the file; it is not part of the YAML.
    """

    epic_id: str
    problem_type: ProblemTypeName
    target: str | None = None
    positive_class: Label | None = None
    primary_metric: str
    secondary_metrics: list[str] = Field(default_factory=list)
    id_columns: list[str] = Field(default_factory=list)
    sensitive_features: list[SensitiveFeature] = Field(default_factory=list)
    group_column: str | None = None
    region_column: str | None = None
    time_column: str | None = None
    frequency: str | None = None
    seasonal_period: Annotated[int, Field(ge=1)] | None = None
    forecast_horizon: Annotated[int, Field(ge=1)] | None = None
    known_covariates: list[str] = Field(default_factory=list)
    series_column: str | None = None
    label_column: str | None = None
    contamination: Annotated[float, Field(gt=0, lt=0.5)] | None = None
    cost_matrix: CostMatrix | None = None
    acceptance_criteria: AcceptanceCriteria = Field(default_factory=AcceptanceCriteria)
    interpretability: Literal["high", "medium", "low"] = "medium"
    algorithms: list[str] | None = None
    search: SearchSpec = Field(default_factory=SearchSpec)
    cross_validation: CrossValidationSpec = Field(default_factory=CrossValidationSpec)
    imbalance: Literal[
        "auto",
        "none",
        "class_weight",
        "smote",
        "undersample",
        "balanced_rf",
        "cost_sensitive",
    ] = "auto"
    source: str | None = None

    @field_validator("primary_metric", mode="before")
    @classmethod
    def _canonical_primary(cls, value: Any) -> Any:
        return canonical(value) if isinstance(value, str) else value

    @field_validator("secondary_metrics", mode="before")
    @classmethod
    def _canonical_secondary(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [canonical(v) if isinstance(v, str) else v for v in value]
        return value

    @field_validator("acceptance_criteria", mode="before")
    @classmethod
    def _canonical_criteria(cls, value: Any) -> Any:
        if isinstance(value, dict) and isinstance(value.get("metrics"), dict):
            value = {
                **value,
                "metrics": {canonical(k): v for k, v in value["metrics"].items()},
            }
        if isinstance(value, dict) and isinstance(
            value.get("beats_best_baseline"), list
        ):
            value = {
                **value,
                "beats_best_baseline": [
                    canonical(v) if isinstance(v, str) else v
                    for v in value["beats_best_baseline"]
                ],
            }
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ModelingSpec:
        self._check_metrics()
        traits = self.kind
        if traits.target == "required" and not self.target:
            raise ValueError(
                f"'target' is required for problem_type {self.problem_type}"
            )
        if traits.binary and self.positive_class is None:
            raise ValueError(f"'positive_class' is required for {self.problem_type}")
        if not traits.classification:
            if self.cost_matrix is not None:
                raise ValueError("'cost_matrix' only applies to classification")
            if self.imbalance not in ("auto", "none"):
                raise ValueError("'imbalance' only applies to classification")
        missing = [key for key in traits.required_keys if getattr(self, key) is None]
        if missing:
            raise ValueError(f"{self.problem_type} needs {', '.join(missing)}")
        if traits.temporal:
            if not _valid_frequency(self.frequency):
                raise ValueError(
                    f"frequency '{self.frequency}' is not a pandas offset alias; "
                    "use e.g. D, W, MS (month start), ME (month end), QS, h"
                )
        elif self.known_covariates or self.series_column:
            raise ValueError(
                "'known_covariates' and 'series_column' only apply to time_series"
            )
        if (
            self.cost_matrix is not None
            and self.positive_class is not None
            and str(self.positive_class) not in map(str, self.cost_matrix.labels)
        ):
            raise ValueError(
                f"key 'positive_class': {self.positive_class!r} is not one of "
                f"cost_matrix.labels ({', '.join(map(str, self.cost_matrix.labels))})"
            )
        return self

    def _check_metrics(self) -> None:
        import difflib

        fitting = set(metrics_for(self.problem_type))
        named = [("primary_metric", self.primary_metric)]
        named += [("secondary_metrics", m) for m in self.secondary_metrics]
        named += [
            ("acceptance_criteria.metrics", m) for m in self.acceptance_criteria.metrics
        ]
        named += [
            ("acceptance_criteria.beats_best_baseline", m)
            for m in self.acceptance_criteria.beats_best_baseline
        ]
        for key, name in named:
            if name not in METRICS:
                close = difflib.get_close_matches(name, sorted(fitting), n=1)
                raise ValueError(
                    f"key '{key}': unknown metric '{name}'"
                    + (f" (did you mean '{close[0]}'?)" if close else "")
                    + f"; known for {self.problem_type}: "
                    + ", ".join(sorted(fitting))
                )
            if name not in fitting:
                raise ValueError(
                    f"key '{key}': metric '{name}' does not fit problem_type "
                    f"{self.problem_type}; use one of: " + ", ".join(sorted(fitting))
                )
        if self.primary_metric == "expected_cost" and self.cost_matrix is None:
            raise ValueError("primary_metric expected_cost needs a cost_matrix")

    @property
    def kind(self) -> Kind:
        """The problem type's traits."""
        return kind(self.problem_type)

    @property
    def metric_names(self) -> list[str]:
        """Primary metric first, then every other metric fitting the problem type."""
        names = [self.primary_metric, *self.secondary_metrics]
        for name in metrics_for(self.problem_type):
            if name == "expected_cost" and self.cost_matrix is None:
                continue
            if (
                name == "f1"
                and self.positive_class is None
                and self.kind.target != "label"  # the anomaly label
            ):
                continue
            names.append(name)
        return list(dict.fromkeys(names))

    @property
    def location(self) -> str:
        """The spec's file for messages."""
        return self.source or f"modeling spec of epic '{self.epic_id}'"


ColumnDtype = Literal["int", "float", "string", "bool", "date", "datetime"]


ColumnRole = Literal[
    "feature", "target", "identifier", "time", "group", "label", "ignore"
]
