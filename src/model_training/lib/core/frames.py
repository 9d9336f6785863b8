"""Adapters between polars frames and model inputs.

Features stay polars; categorical features are kept as ``pl.String`` (never
``pl.Categorical``, which crashes CatBoost, STACK.md §5). Conversions to numpy or
pandas for libraries that need them happen here and nowhere else.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import polars as pl

from model_training.lib.core.plan import ModelingPlan


def conform(frame: pl.DataFrame, plan: ModelingPlan) -> pl.DataFrame:
    """Cast features to their planned types: numeric to Float64, categorical to String.

    Values that cannot be cast become null (data_validation has already refused
    files where that would lose data).
    """
    casts = [pl.col(c).cast(pl.Float64, strict=False) for c in plan.numeric_features]
    casts += [pl.col(c).cast(pl.String) for c in plan.categorical_features]
    return frame.with_columns(casts)


def input_columns(plan: ModelingPlan) -> list[str]:
    """The columns a model reads: the features, and for forecasts first the time
    (and series) column, since a forecast is for a period (of a series)."""
    if plan.spec.kind.temporal and plan.spec.time_column:
        series = [plan.spec.series_column] if plan.spec.series_column else []
        return [plan.spec.time_column, *series, *plan.features]
    return list(plan.features)


def split_xy(
    frame: pl.DataFrame, plan: ModelingPlan
) -> tuple[pl.DataFrame, np.ndarray]:
    """Return the feature columns (conformed, in plan order) and the target.

    Without a target (clustering, anomaly detection) the second value is the
    label column kept for evaluation, or all-NaN when there is none; it is never
    passed to a model (the problem types fit on the features alone).
    """
    features = conform(frame, plan).select(input_columns(plan))
    target = plan.spec.target or plan.spec.label_column
    if target and target in frame.columns:
        y = frame.get_column(target).to_numpy()
    else:
        y = np.full(frame.height, np.nan)
    return features, y


def label_array(values: Any) -> np.ndarray:
    """Class labels as a numpy array of their own type (int, bool, float or text).

    Never an object array of numbers: scikit-learn's metrics cannot tell the
    kind of target of one ("unknown is not supported").
    """
    items = list(values)
    if not items:
        return np.asarray([], dtype=object)
    out = np.array([v.item() if isinstance(v, np.generic) else v for v in items])
    if out.dtype.kind in "US":  # text: keep Python strings, as polars gives them
        return np.array(items, dtype=object)
    return out


def band_labels(edges: list[float]) -> list[str]:
    """Names of the right-closed bands that ``edges`` cut: <=a, (a, b], ..., >z."""
    middle = [f"({a:g}, {b:g}]" for a, b in itertools.pairwise(edges)]
    return [f"<={edges[0]:g}", *middle, f">{edges[-1]:g}"]
