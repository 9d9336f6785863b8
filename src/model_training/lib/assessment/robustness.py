"""Stage step 8.3: slices, perturbations and out-of-distribution rows."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from model_training.lib.core.frames import band_labels
from model_training.lib.core.metrics import compute_metrics
from model_training.lib.core.plan import ModelingPlan


def _score(y, y_pred, y_score, plan: ModelingPlan) -> dict[str, float]:
    names = [plan.spec.primary_metric]
    if plan.classes is not None:
        names.append("accuracy")
    elif not plan.discrete_predictions:
        names.append("mean_absolute_error")
    return compute_metrics(
        list(dict.fromkeys(names)), y, y_pred, y_score, plan.metric_context
    )


def slices(
    x: pl.DataFrame,
    train: pl.DataFrame,
    y,
    y_pred,
    y_score,
    plan: ModelingPlan,
    min_rows: int,
    bins: int,
) -> dict[str, Any]:
    """The primary metric on every slice: categories, or numeric quantile bins from train."""
    primary = plan.spec.primary_metric
    rows = []
    for feature in plan.features:
        column = x.get_column(feature)
        if feature in plan.numeric_features:
            edges = np.unique(
                np.nanquantile(
                    train.get_column(feature).cast(pl.Float64).drop_nulls().to_numpy(),
                    np.linspace(0, 1, bins + 1)[1:-1],
                )
            )
            values = column.cast(pl.Float64).to_numpy()
            index = np.searchsorted(edges, values, side="right")
            names = band_labels(list(edges)) if len(edges) else ["all"]
            keys = np.asarray(
                [names[min(i, len(names) - 1)] for i in index], dtype=object
            )
        else:
            keys = np.asarray(
                column.cast(pl.String).fill_null("missing").to_list(), dtype=object
            )
        for key in sorted(set(keys), key=str):
            mask = keys == key
            if mask.sum() < min_rows:
                continue
            score = _score(
                y[mask], y_pred[mask], None if y_score is None else y_score[mask], plan
            )
            rows.append(
                {
                    "feature": feature,
                    "slice": str(key),
                    "rows": int(mask.sum()),
                    **score,
                }
            )
    overall = _score(y, y_pred, y_score, plan)
    return {
        "overall": overall,
        "slices": rows,
        "worst": weakest(rows, primary, plan.greater_is_better),
        "min_rows": min_rows,
    }


def weakest(
    rows: list[dict[str, Any]], metric: str, greater_is_better: bool, n: int = 5
) -> list[dict[str, Any]]:
    """The ``n`` slices with the worst ``metric``, worst first (lowest AUC, highest RMSE)."""
    usable = [r for r in rows if np.isfinite(r[metric])]
    usable.sort(key=lambda r: r[metric], reverse=not greater_is_better)
    return usable[:n]


def perturbation(
    model: Any,
    x: pl.DataFrame,
    train: pl.DataFrame,
    y,
    plan: ModelingPlan,
    predict: Any,
    scale: float,
    seed: int,
) -> dict[str, Any]:
    """Add Gaussian noise (``scale`` times the training std) to numeric features; count changed decisions."""
    rng = np.random.default_rng(seed)
    y_pred, y_score = predict(model, x)
    noisy = x.with_columns(
        (
            pl.col(f).cast(pl.Float64)
            + pl.Series(
                rng.normal(
                    0,
                    scale * (train.get_column(f).cast(pl.Float64).std() or 0.0),
                    x.height,
                )
            )
        ).alias(f)
        for f in plan.numeric_features
    )
    p_pred, p_score = predict(model, noisy)
    before, after = _score(y, y_pred, y_score, plan), _score(y, p_pred, p_score, plan)
    if plan.discrete_predictions:
        changed = float(
            np.mean(np.asarray(y_pred, dtype=str) != np.asarray(p_pred, dtype=str))
        )
        change_label = "share_of_changed_decisions"
    else:
        changed = float(
            np.mean(np.abs(np.asarray(p_pred, float) - np.asarray(y_pred, float)))
        )
        change_label = "mean_absolute_prediction_change"
    primary = plan.spec.primary_metric
    return {
        "noise": f"gaussian, {scale} x training std, numeric features",
        change_label: changed,
        "metric_before": before[primary],
        "metric_after": after[primary],
        "metric_change": after[primary] - before[primary],
    }


def out_of_distribution(
    x: pl.DataFrame, train: pl.DataFrame, y, y_pred, y_score, plan: ModelingPlan
) -> dict[str, Any]:
    """Test rows outside the training ranges or with categories training never saw."""
    mask = np.zeros(x.height, dtype=bool)
    reasons: dict[str, int] = {}
    for feature in plan.numeric_features:
        values = x.get_column(feature).cast(pl.Float64)
        reference = train.get_column(feature).cast(pl.Float64)
        outside = (
            ((values < reference.min()) | (values > reference.max()))
            .fill_null(False)
            .to_numpy()
        )
        if outside.any():
            reasons[f"{feature} outside training range"] = int(outside.sum())
        mask |= outside
    for feature in plan.categorical_features:
        seen = set(train.get_column(feature).cast(pl.String).drop_nulls().to_list())
        values = x.get_column(feature).cast(pl.String)
        unseen = (~values.is_in(list(seen)) & values.is_not_null()).to_numpy()
        if unseen.any():
            reasons[f"{feature} unseen category"] = int(unseen.sum())
        mask |= unseen
    out: dict[str, Any] = {
        "share": float(mask.mean()),
        "rows": int(mask.sum()),
        "reasons": reasons,
    }
    if mask.any():
        out["metrics_out_of_distribution"] = _score(
            y[mask], y_pred[mask], None if y_score is None else y_score[mask], plan
        )
    if (~mask).any():
        out["metrics_in_distribution"] = _score(
            y[~mask], y_pred[~mask], None if y_score is None else y_score[~mask], plan
        )
    return out
