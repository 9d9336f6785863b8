"""The modeling plan: the spec resolved against the data, read by every pipeline.

``data_validation`` writes it once the inputs pass; later pipelines read the plan
instead of re-deriving feature lists, class labels or the CV strategy.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict

from model_training.lib.core.metrics import METRICS
from model_training.lib.core.schema import FeatureSchema
from model_training.lib.core.seasons import implied_season
from model_training.lib.core.spec import ModelingSpec

NUMERIC_DTYPES = ("int", "float", "bool")


# one-hot columns per categorical feature at most: beyond it, the rarest
# categories share one column (a 400-city column of 700 training rows made
# 400 dense columns, and a histogram boosting fit of 9 s)
MAX_ONE_HOT_COLUMNS = 50


class ModelingPlan(BaseModel):
    """The spec plus what the data decides.

    Attributes:
        spec: the validated modeling spec.
        numeric_features: feature columns treated as numbers.
        categorical_features: feature columns treated as categories (kept as text).
        classes: the target's classes (classification), sorted; for binary the
            positive class is last, so ``predict_proba[:, 1]`` is its probability.
        cv_strategy: the resolved cross-validation strategy.
        greater_is_better: direction of the primary metric.
        labels: anomaly detection: the label values a model predicts, normal
            first and anomaly last (from the label column kept for evaluation,
            else ``[0, 1]``); None for other problem types.
        contamination: anomaly detection: the expected share of anomalies (the
            spec's, else the label column's share in train, else 0.05).
        mase_scale: time series: the in-sample mean absolute error of the
            seasonal naive forecast on train (MASE divides by it).
        many_category_features: categorical features with more than
            :data:`MAX_ONE_HOT_COLUMNS` distinct training values (one-hot
            encoding groups their rarest categories).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    spec: ModelingSpec
    numeric_features: list[str]
    categorical_features: list[str]
    classes: list[Any] | None = None
    cv_strategy: str
    greater_is_better: bool
    labels: list[Any] | None = None
    contamination: float | None = None
    mase_scale: float | None = None
    many_category_features: list[str] = []

    @property
    def features(self) -> list[str]:
        """Every feature column, numeric first."""
        return [*self.numeric_features, *self.categorical_features]

    @property
    def discrete_predictions(self) -> bool:
        """True when predictions are labels (classes, clusters, anomaly flags)."""
        return not self.spec.kind.numeric_output

    @property
    def metric_context(self) -> dict[str, Any]:
        """What metric functions need besides predictions."""
        cost = self.spec.cost_matrix
        return {
            "classes": self.classes,
            "positive_class": self.positive_class,
            "contamination": self.contamination,
            "mase_scale": self.mase_scale,
            "cost_matrix": None
            if cost is None
            else {
                "labels": [self._class_value(v) for v in cost.labels],
                "costs": cost.costs,
            },
        }

    @property
    def positive_class(self) -> Any:
        """The positive class as it appears in the data (binary), the anomaly
        label (anomaly detection), else None."""
        if self.labels is not None:
            return self.labels[-1]
        if self.spec.positive_class is None:
            return None
        return self._class_value(self.spec.positive_class)

    def _class_value(self, label: Any) -> Any:
        for cls in self.classes or []:
            if str(cls) == str(label):
                return cls
        return label


def resolve_cv_strategy(spec: ModelingSpec) -> str:
    """Pick the cross-validation strategy the spec and the data call for.

    Temporal data is never shuffled; groups and regions are kept together.
    """
    wanted = spec.cross_validation.strategy
    if wanted != "auto":
        return wanted
    classification = spec.kind.classification
    if spec.time_column or spec.kind.temporal:
        return "time_series"
    if spec.region_column:
        return "spatial"
    if spec.group_column:
        return "stratified_group_kfold" if classification else "group_kfold"
    return "stratified_kfold" if classification else "kfold"


def build_plan(
    spec: ModelingSpec, schema: FeatureSchema, train: pl.DataFrame
) -> ModelingPlan:
    """Resolve the spec against the schema and the training split.

    Feature columns are those with role ``feature`` in the schema, minus any the
    spec names as target, identifier, group, time, region or label column.
    """
    reserved = {
        spec.target,
        spec.group_column,
        spec.time_column,
        spec.region_column,
        spec.label_column,
        spec.series_column,
        *spec.id_columns,
    }
    numeric, categorical = [], []
    for column in schema.columns:
        if column.role != "feature" or column.name in reserved:
            continue
        (numeric if column.dtype in NUMERIC_DTYPES else categorical).append(column.name)
    classes = None
    if spec.kind.classification and spec.target:
        values = train.get_column(spec.target).drop_nulls().unique().to_list()
        try:  # numbers in numeric order (2 before 10), text alphabetically
            classes = sorted(values)
        except TypeError:
            classes = sorted(values, key=str)
        if spec.positive_class is not None:
            positive = [c for c in classes if str(c) == str(spec.positive_class)]
            classes = [c for c in classes if c not in positive] + positive
    labels, contamination, mase_scale = None, None, None
    spec = with_implied_season(spec, train)
    if spec.kind.flags_anomalies:
        labels, contamination = _anomaly_labels(spec, train)
    if spec.kind.temporal and spec.target in train.columns:
        mase_scale = seasonal_naive_scale(train, spec)
    many = [
        c
        for c in categorical
        if c in train.columns and train.get_column(c).n_unique() > MAX_ONE_HOT_COLUMNS
    ]
    return ModelingPlan(
        spec=spec,
        numeric_features=numeric,
        categorical_features=categorical,
        many_category_features=many,
        classes=classes,
        cv_strategy=resolve_cv_strategy(spec),
        greater_is_better=METRICS[spec.primary_metric].greater_is_better,
        labels=labels,
        contamination=contamination,
        mase_scale=mase_scale,
    )


def with_implied_season(spec: ModelingSpec, train: pl.DataFrame) -> ModelingSpec:
    """A time-series spec without ``seasonal_period`` takes the one its
    frequency implies (:func:`~model_training.lib.core.seasons.implied_season`,
    judged on the shortest training series), so that the seasonal naive
    baseline and the MASE scale compare with a season ago; the spec's own
    value, and specs of other problem types, are kept as they are."""
    if not spec.kind.temporal or spec.seasonal_period or not spec.frequency:
        return spec
    if spec.series_column and spec.series_column in train.columns:
        history = int(
            train.get_column(spec.series_column).value_counts()["count"].min()
        )
    else:
        history = train.height
    period = implied_season(spec.frequency, history)
    return (
        spec if period is None else spec.model_copy(update={"seasonal_period": period})
    )


def seasonal_naive_scale(train: pl.DataFrame, spec: ModelingSpec) -> float | None:
    """Mean absolute error of the in-sample seasonal naive forecast on train.

    ``mean |y_t - y_{t-s}|`` over the training series in time order (each
    series on its own when there are several), with ``s`` the seasonal period
    (1 when there is none): the denominator of MASE.
    """
    s = spec.seasonal_period or 1
    groups = (
        train.partition_by(spec.series_column, maintain_order=True)
        if spec.series_column and spec.series_column in train.columns
        else [train]
    )
    errors = []
    for group in groups:  # one series at a time: no difference across series
        ordered = group.sort(spec.time_column) if spec.time_column else group
        y = ordered.get_column(spec.target).cast(pl.Float64).to_numpy()
        if len(y) > s:
            errors.append(np.abs(y[s:] - y[:-s]))
    if not errors:
        return None
    scale = float(np.nanmean(np.concatenate(errors)))
    return scale if scale > 0 else None


ANOMALY_NAMES = ("1", "true", "anomaly", "outlier", "abnormal", "fraud", "yes")
DEFAULT_CONTAMINATION = 0.05


def _anomaly_labels(spec: ModelingSpec, train: pl.DataFrame) -> tuple[list[Any], float]:
    """The label values (normal first, anomaly last) and the expected contamination."""
    column = spec.label_column
    if not column or column not in train.columns:
        return [0, 1], spec.contamination or DEFAULT_CONTAMINATION
    values = train.get_column(column).drop_nulls()
    distinct = sorted(values.unique().to_list(), key=str)
    if spec.positive_class is not None:
        anomaly = next(
            (v for v in distinct if str(v) == str(spec.positive_class)),
            spec.positive_class,
        )
    else:
        named = [v for v in distinct if str(v).lower() in ANOMALY_NAMES]
        counts = values.value_counts()
        rarest = counts.sort(counts.columns[1]).get_column(column)[0]
        anomaly = named[0] if named else rarest
    normal = [v for v in distinct if v != anomaly]
    share = float((values == anomaly).mean()) if values.len() else 0.0
    contamination = spec.contamination or (
        share if 0 < share < 0.5 else DEFAULT_CONTAMINATION
    )
    return [*normal[:1], anomaly] if normal else [0, anomaly], contamination


def load_plan(data: dict[str, Any]) -> ModelingPlan:
    """Rebuild a plan from its JSON form (as the catalog stores it)."""
    return ModelingPlan.model_validate(data)
