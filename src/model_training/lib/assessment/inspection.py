"""Model-agnostic explanations through scikit-learn's inspection tools: permutation importance with the primary metric, partial dependence of the model's own output."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import polars as pl
from sklearn.base import BaseEstimator

from model_training.lib.core.metrics import compute_metrics
from model_training.lib.core.plan import ModelingPlan


class _Fitted(BaseEstimator):
    """A fitted model as scikit-learn's inspection tools see it: a regressor
    whose ``predict`` is the given output of the model. The tools see the
    feature columns as a pandas frame; the model gets them back in their polars
    types, beside the other columns it reads (a forecaster's time column)."""

    def __init__(self, model: Any = None, output: Any = None, rows: Any = None):
        self.model = model
        self.output = output
        self.rows = rows

    def fit(self, x: Any, y: Any = None) -> _Fitted:
        return self

    def __sklearn_is_fitted__(self) -> bool:
        return True

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.estimator_type = "regressor"
        return tags

    def frame(self, x: pd.DataFrame) -> pl.DataFrame:
        features = pl.from_pandas(x).cast(self.rows.select(x.columns).schema)
        return self.rows.with_columns(features)

    def predict(self, x: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.output(self.model, self.frame(x)), dtype=float)


def permutation_importance(
    model: Any,
    x: pl.DataFrame,
    y: np.ndarray,
    plan: ModelingPlan,
    predict: Any,
    repeats: int,
    seed: int,
    features: list[str] | None = None,
) -> dict[str, dict[str, float]]:
    """Drop in the primary metric when one feature's values are shuffled
    (scikit-learn's ``permutation_importance`` with the primary metric).

    Positive means the feature matters (a worse score when shuffled), whatever
    the metric's direction. Without features (a forecast of a series from its
    own past alone) there is nothing to shuffle: empty. ``features`` (default:
    all of the plan's) are the ones shuffled; the others keep their values and
    are left out of the result.
    """
    from sklearn.inspection import permutation_importance as sklearn_permutation

    shuffled = list(plan.features if features is None else features)
    if not shuffled:
        return {}

    primary = plan.spec.primary_metric
    sign = 1.0 if plan.greater_is_better else -1.0
    fitted = _Fitted(model, None, x)

    def score(estimator: _Fitted, rows: pd.DataFrame, truth: np.ndarray) -> float:
        y_pred, y_score = predict(model, estimator.frame(rows))
        value = compute_metrics([primary], truth, y_pred, y_score, plan.metric_context)[
            primary
        ]
        return sign * value

    result = sklearn_permutation(
        fitted,
        # only the shuffled columns pass through pandas; the model reads them
        # back beside the others (400 columns converted per pass took 0.06 s)
        x.select(shuffled).to_pandas(),
        y,
        scoring=score,
        n_repeats=repeats,
        random_state=seed,
        n_jobs=1,
    )
    out = {
        feature: {
            "mean": float(result.importances_mean[i]),
            "std": float(result.importances_std[i]),
        }
        for i, feature in enumerate(shuffled)
    }
    return dict(sorted(out.items(), key=lambda kv: -kv[1]["mean"]))


def partial_dependence(
    model: Any,
    x: pl.DataFrame,
    plan: ModelingPlan,
    features: list[str],
    predict_output: Any,
    grid_size: int,
) -> dict[str, dict[str, list]]:
    """Average model output when one feature is set to each grid value for every
    row (scikit-learn's ``partial_dependence``, brute force, on the model's own
    output). Numeric grids are quantiles 5-95 %; categorical grids are the most
    frequent values."""
    from sklearn.inspection import partial_dependence as sklearn_partial_dependence

    fitted = _Fitted(model, predict_output, x)
    frame = x.select(plan.features).to_pandas()
    out = {}
    for feature in features:
        column = x.get_column(feature)
        numeric = feature in plan.numeric_features
        if numeric:
            values = np.unique(
                np.nanquantile(
                    column.cast(pl.Float64).drop_nulls().to_numpy(),
                    np.linspace(0.05, 0.95, grid_size),
                )
            )
            grid = [float(v) for v in values]
        else:
            grid = (
                column.drop_nulls()
                .value_counts(sort=True)
                .get_column(feature)
                .head(grid_size)
                .to_list()
            )
        result = sklearn_partial_dependence(
            fitted,
            frame,
            [feature],
            custom_values={
                feature: np.asarray(grid, dtype=float if numeric else object)
            },
            categorical_features=None if numeric else [feature],
            kind="average",
            method="brute",
        )
        out[feature] = {
            "grid": grid,
            "average_output": [float(v) for v in result["average"][0]],
            "kind": "numeric" if numeric else "categorical",
        }
    return out
