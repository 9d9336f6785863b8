"""Stage step 13.5: the monitoring baseline, and the drift measure it is made for.

The baseline holds reference distributions from the training rows (per-feature
statistics, missing rates and PSI reference bins), the reference distribution of
predictions, the test performance, the measured latency and alert thresholds.
:func:`population_stability_index` compares new data with a reference.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from model_training.lib.core.plan import ModelingPlan

_EPS = 1e-4


def _numeric_reference(values: np.ndarray, bins: int) -> dict[str, Any]:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return {"edges": [], "proportions": []}
    edges = np.unique(np.quantile(finite, np.linspace(0, 1, bins + 1)[1:-1]))
    counts = np.bincount(
        np.searchsorted(edges, finite, side="right"), minlength=len(edges) + 1
    )
    return {"edges": edges.tolist(), "proportions": (counts / counts.sum()).tolist()}


def _categorical_reference(values: pl.Series, max_categories: int) -> dict[str, Any]:
    counts = values.cast(pl.String).fill_null("__missing__").value_counts(sort=True)
    names = counts.get_column(values.name).to_list()
    shares = (counts.get_column("count") / counts.get_column("count").sum()).to_list()
    kept = dict(zip(names[:max_categories], shares[:max_categories], strict=True))
    other = float(sum(shares[max_categories:]))
    if other:
        kept["__other__"] = other
    return {"categories": list(kept), "proportions": list(kept.values())}


def feature_statistics(
    frame: pl.DataFrame, plan: ModelingPlan, bins: int
) -> dict[str, Any]:
    """Per feature: summary statistics, missing rate and PSI reference bins."""
    out = {}
    for feature in plan.numeric_features:
        series = frame.get_column(feature).cast(pl.Float64)
        values = series.to_numpy()
        out[feature] = {
            "type": "numeric",
            "mean": series.mean(),
            "std": series.std(),
            "min": series.min(),
            "max": series.max(),
            "q25": series.quantile(0.25),
            "q50": series.quantile(0.5),
            "q75": series.quantile(0.75),
            "missing_rate": series.null_count() / max(frame.height, 1),
            "psi_reference": _numeric_reference(values, bins),
        }
    for feature in plan.categorical_features:
        series = frame.get_column(feature)
        out[feature] = {
            "type": "categorical",
            "n_categories": series.n_unique(),
            "missing_rate": series.null_count() / max(frame.height, 1),
            "psi_reference": _categorical_reference(series, 50),
        }
    return out


def population_stability_index(reference: dict[str, Any], values: Any) -> float:
    """PSI of new values against a reference made by :func:`feature_statistics`.

    ``sum((new - ref) * ln(new / ref))`` over the reference bins (numeric) or
    categories (categorical; unknown categories count as ``__other__``).
    Conventional reading: < 0.1 stable, 0.1-0.2 moderate shift, > 0.2 significant.
    """
    expected = np.asarray(reference["proportions"], dtype=float)
    if "edges" in reference:
        values = np.asarray(values, dtype=float)
        values = values[np.isfinite(values)]
        counts = np.bincount(
            np.searchsorted(reference["edges"], values, side="right"),
            minlength=len(expected),
        )
    else:
        names = list(reference["categories"])
        index = {name: i for i, name in enumerate(names)}
        fallback = index.get("__other__")
        counts = np.zeros(len(names))
        for value in values:
            key = "__missing__" if value is None else str(value)
            position = index.get(key, fallback)
            if position is not None:
                counts[position] += 1
    actual = counts / max(counts.sum(), 1)
    expected = np.clip(expected, _EPS, None)
    actual = np.clip(actual, _EPS, None)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def monitoring_baseline(
    plan: ModelingPlan,
    train: pl.DataFrame,
    train_output: np.ndarray,
    test_output: np.ndarray,
    test_metrics: dict[str, float],
    latency_ms: dict[str, float],
    thresholds: dict[str, Any],
    bins: int,
    output_label: str | None = None,
) -> dict[str, Any]:
    """The monitoring baseline of step 13.5 (version and date are added by the package).

    ``output_label`` names the monitored output (a probability, a forecast, an
    anomaly score, a cluster id).
    """
    primary = plan.spec.primary_metric

    def distribution(values: np.ndarray) -> dict[str, Any]:
        values = np.asarray(values, dtype=float)
        values = values[np.isfinite(values)]  # e.g. forecasts without history
        return {
            "mean": float(values.mean()),
            "std": float(values.std()),
            "histogram": np.histogram(values, bins=10)[0].tolist(),
            "psi_reference": _numeric_reference(values, bins),
        }

    return {
        "epic_id": plan.spec.epic_id,
        "prediction_output": output_label
        or (
            "P(positive class)"
            if plan.positive_class is not None
            else (f"P({plan.classes[-1]})" if plan.classes else "prediction")
        ),
        "training_data_stats": {
            "n_rows": train.height,
            "feature_stats": feature_statistics(train, plan, bins),
        },
        "prediction_stats": {
            "train_predictions": distribution(train_output),
            "test_predictions": distribution(test_output),
        },
        "performance_baseline": {f"test_{k}": v for k, v in test_metrics.items()},
        "primary_metric": primary,
        "latency_ms": latency_ms,
        "alert_thresholds": thresholds,
    }
