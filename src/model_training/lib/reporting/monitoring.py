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
    counts = binned_counts(reference, values)
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


def binned_counts(reference: dict[str, Any], values: Any) -> np.ndarray:
    """Counts of new values in the reference's bins (numeric) or categories
    (categorical; unknown categories count as ``__other__`` when it exists)."""
    size = len(reference["proportions"])
    if "edges" in reference:
        values = np.asarray(values, dtype=float)
        values = values[np.isfinite(values)]
        return np.bincount(
            np.searchsorted(reference["edges"], values, side="right"), minlength=size
        ).astype(float)
    index = {name: i for i, name in enumerate(reference["categories"])}
    fallback = index.get("__other__")
    counts = np.zeros(size)
    for value in values:
        position = index.get("__missing__" if value is None else str(value), fallback)
        if position is not None:
            counts[position] += 1
    return counts


def drift_test(reference: dict[str, Any], values: Any) -> dict[str, Any]:
    """PSI and a chi-square goodness-of-fit test of new values against the
    reference bins (scipy.stats.chisquare; bins the reference never filled are
    left out of the test, so an empty bin cannot make it infinite)."""
    from scipy.stats import chisquare

    counts = binned_counts(reference, values)
    expected = np.asarray(reference["proportions"], dtype=float)
    psi = population_stability_index(reference, values)
    n = counts.sum()
    kept = expected > 0
    if n == 0 or kept.sum() < 2:
        return {"psi": psi, "chi2": None, "p_value": None, "rows": int(n)}
    observed = counts[kept]
    wanted = expected[kept] / expected[kept].sum() * observed.sum()
    result = chisquare(observed, wanted)
    return {
        "psi": psi,
        "chi2": float(result.statistic),
        "p_value": float(result.pvalue),
        "rows": int(n),
        "reference_proportions": expected.tolist(),
        "new_proportions": (counts / n).tolist(),
    }


def unseen_categories(reference: dict[str, Any], series: pl.Series) -> list[str] | None:
    """Categories of the new rows the training rows never had (None when the
    reference kept only its most frequent ones, so absence proves nothing)."""
    known = set(reference["categories"])
    if "__other__" in known:
        return None
    new = set(series.drop_nulls().cast(pl.String).unique().to_list())
    return sorted(new - known)


def compare_with_baseline(
    baseline: dict[str, Any],
    frame: pl.DataFrame,
    output: np.ndarray,
    performance: dict[str, float] | None,
    greater_is_better: bool,
    alpha: float,
) -> dict[str, Any]:
    """New rows against the monitoring baseline: drift per feature, missing
    rates, unseen categories, prediction drift and, with the target, performance.

    Each finding carries ``alert`` by the baseline's own thresholds: PSI above
    ``psi_threshold`` (a chi-square p-value below ``alpha`` is reported beside
    it: on many rows tiny shifts are significant, so it does not alert alone),
    a missing rate up by more than ``missing_rate_threshold``, any unseen
    category, and a primary metric worse than the baseline's test value by more
    than ``performance_degradation`` (relative).
    """
    limits = baseline["alert_thresholds"]
    stats = baseline["training_data_stats"]["feature_stats"]
    features = []
    for name, ref in stats.items():
        if name not in frame.columns:
            continue
        series = frame.get_column(name)
        values = (
            series.cast(pl.Float64, strict=False).to_numpy()
            if ref["type"] == "numeric"
            else series.cast(pl.String).to_list()
        )
        test = drift_test(ref["psi_reference"], values)
        missing = series.null_count() / max(frame.height, 1)
        change = missing - float(ref.get("missing_rate") or 0.0)
        unseen = (
            unseen_categories(ref["psi_reference"], series)
            if ref["type"] == "categorical"
            else []
        )
        reasons = []
        if test["psi"] > limits["psi_threshold"]:
            reasons.append(f"PSI {test['psi']:.3f} > {limits['psi_threshold']}")
        if change > limits["missing_rate_threshold"]:
            reasons.append(
                f"missing rate {missing:.1%} (was {ref.get('missing_rate') or 0:.1%})"
            )
        if unseen:
            reasons.append(f"unseen categories: {', '.join(unseen[:10])}")
        features.append(
            {
                "feature": name,
                "type": ref["type"],
                **{k: v for k, v in test.items() if not k.endswith("proportions")},
                "significant": test["p_value"] is not None and test["p_value"] < alpha,
                "missing_rate": missing,
                "missing_rate_change": change,
                "unseen_categories": unseen,
                "alert": bool(reasons),
                "reasons": reasons,
            }
        )
    reference = baseline["prediction_stats"]["train_predictions"]["psi_reference"]
    prediction = drift_test(reference, output)
    prediction["alert"] = prediction["psi"] > limits["psi_threshold"]
    result: dict[str, Any] = {
        "rows": frame.height,
        "features": sorted(features, key=lambda f: -f["psi"]),
        "prediction_drift": prediction,
        "performance": None,
    }
    if performance:
        primary = baseline["primary_metric"]
        before = baseline["performance_baseline"].get(f"test_{primary}")
        now = performance.get(primary)
        degradation = None
        if before not in (None, 0) and now is not None and np.isfinite(now):
            worse = (before - now) if greater_is_better else (now - before)
            degradation = worse / abs(before)
        result["performance"] = {
            "metric": primary,
            "baseline_test": before,
            "now": now,
            "relative_degradation": degradation,
            "alert": degradation is not None
            and degradation > limits["performance_degradation"],
            "metrics": performance,
        }
    alerts = [
        f"{f['feature']}: {'; '.join(f['reasons'])}" for f in features if f["alert"]
    ]
    if prediction["alert"]:
        alerts.append(
            f"predictions ({baseline.get('prediction_output', 'output')}): PSI "
            f"{prediction['psi']:.3f} > {limits['psi_threshold']}"
        )
    if result["performance"] and result["performance"]["alert"]:
        perf = result["performance"]
        alerts.append(
            f"{perf['metric']} {perf['now']:.4g} against {perf['baseline_test']:.4g} "
            f"on test at training ({perf['relative_degradation']:.1%} worse)"
        )
    result["alerts"] = alerts
    result["status"] = "alert" if alerts else "ok"
    return result
