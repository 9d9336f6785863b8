"""Stage step 8.2: performance and decisions by sensitive group."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from model_training.lib.core.frames import band_labels
from model_training.lib.core.params import Fairness
from model_training.lib.core.plan import ModelingPlan
from model_training.lib.core.spec import SensitiveFeature


def derive_groups(frame: pl.DataFrame, feature: SensitiveFeature) -> np.ndarray:
    """The group of every row for one sensitive feature (derived as the spec says)."""
    column = frame.get_column(feature.column)
    rule = feature.derive
    if rule is None:
        return np.asarray(
            column.cast(pl.String).fill_null("missing").to_list(), dtype=object
        )
    if rule.kind == "split":
        parts = column.cast(pl.String).str.split(rule.sep)
        return np.asarray(
            parts.list.get(rule.part, null_on_oob=True)
            .str.strip_chars()
            .fill_null("missing")
            .to_list(),
            dtype=object,
        )
    if rule.kind == "map":
        mapping = rule.mapping or {}
        return np.asarray(
            [mapping.get(str(v), str(v)) for v in column.to_list()], dtype=object
        )
    edges = list(rule.edges or [])
    labels = rule.labels or band_labels(edges)
    values = column.cast(pl.Float64).to_numpy()
    index = np.searchsorted(edges, values, side="left")  # right-closed bands: x <= edge
    out = np.asarray([labels[i] for i in index], dtype=object)
    out[np.isnan(values)] = "missing"
    return out


def _rate(hits: np.ndarray, among: np.ndarray) -> float:
    """The share of ``hits`` among the rows where ``among`` holds (NaN if none)."""
    return float(hits[among].mean()) if among.any() else float("nan")


def _classification_metrics(positive: bool) -> dict[str, Any]:
    """Per-group metrics over (actual, called) label arrays, for fairlearn."""
    from fairlearn.metrics import selection_rate

    metrics: dict[str, Any] = {
        "accuracy": lambda t, p: float(np.mean(t == p)),
    }
    if positive:  # t and p are booleans: the positive class, actual and called
        metrics.update(
            {
                "selection_rate": lambda t, p: float(
                    selection_rate(t, p, pos_label=True)
                ),
                "true_positive_rate": lambda t, p: _rate(p, t),
                "false_positive_rate": lambda t, p: _rate(p, ~t),
                "precision": _rate,  # actual positives among those called
                "base_rate": lambda t, p: float(np.mean(t)),
            }
        )
    return metrics


def _frame(
    groups: np.ndarray, y: np.ndarray, y_pred: np.ndarray, plan: ModelingPlan
) -> Any:
    """fairlearn's MetricFrame of the plan's per-group metrics."""
    from fairlearn.metrics import MetricFrame, count

    if plan.classes is None:
        truth, called = y.astype(float), y_pred.astype(float)
        metrics: dict[str, Any] = {
            "mean_absolute_error": lambda t, p: float(np.mean(np.abs(t - p))),
            "mean_error": lambda t, p: float(np.mean(p - t)),
        }
    elif plan.positive_class is not None:
        positive = str(plan.positive_class)
        truth, called = y.astype(str) == positive, y_pred.astype(str) == positive
        metrics = _classification_metrics(True)
    else:
        truth, called = y.astype(str), y_pred.astype(str)
        metrics = _classification_metrics(False)
    return MetricFrame(
        metrics={"size": count, **metrics},
        y_true=truth,
        y_pred=called,
        sensitive_features=np.asarray([str(g) for g in groups], dtype=object),
    )


def group_table(
    groups: np.ndarray, y: np.ndarray, y_pred: np.ndarray, plan: ModelingPlan
) -> dict[str, dict[str, float]]:
    """Per group (fairlearn ``MetricFrame.by_group``): size, and selection rate,
    TPR, FPR, precision, accuracy (classification) or MAE (regression)."""
    by_group = _frame(groups, y, y_pred, plan).by_group
    return {
        str(group): {
            name: int(value) if name == "size" else float(value)
            for name, value in row.items()
        }
        for group, row in sorted(by_group.iterrows(), key=lambda kv: str(kv[0]))
    }


def _spread(
    groups: np.ndarray,
    y: np.ndarray,
    y_pred: np.ndarray,
    plan: ModelingPlan,
    min_size: int,
) -> dict[str, tuple[float, float]]:
    """(max - min, min / max) of each metric between the groups of at least
    ``min_size`` rows (fairlearn ``difference``/``ratio`` between groups; NaN
    where fewer than two groups have the metric)."""
    keys = np.asarray([str(g) for g in groups], dtype=object)
    names, sizes = np.unique(keys, return_counts=True)
    large = np.isin(keys, names[sizes >= min_size])
    if (sizes >= min_size).sum() < 2:
        return {}
    frame = _frame(keys[large], y[large], y_pred[large], plan)
    by_group = frame.by_group
    out = {}
    for name in by_group.columns:
        values = by_group[name].astype(float)
        if values.notna().sum() < 2:
            out[name] = (float("nan"), float("nan"))
            continue
        high, low = float(values.max()), float(values.min())
        out[name] = (high - low, low / high if high > 0 else float("nan"))
    return out


def assess(
    frame: pl.DataFrame,
    y: np.ndarray,
    y_pred: np.ndarray,
    plan: ModelingPlan,
    options: Fairness,
) -> dict[str, Any]:
    """Fairness report for every sensitive feature of the spec.

    Groups smaller than ``min_group_size`` are reported but left out of the
    disparity figures (too noisy), and flagged as such.
    """
    min_size = options.min_group_size
    ratio_limit = options.disparate_impact_min_ratio
    odds_limit = options.equalized_odds_max_difference
    error_ratio_limit = options.error_ratio_max
    out = {}
    for feature in plan.spec.sensitive_features:
        groups = derive_groups(frame, feature)
        table = group_table(groups, y, y_pred, plan)
        entry: dict[str, Any] = {"column": feature.column, "groups": table, "flags": []}
        small = [g for g, r in table.items() if r["size"] < min_size]
        if small:
            entry["flags"].append(
                f"groups {small} have fewer than {min_size} test rows: not compared"
            )
        spread = _spread(groups, y, y_pred, plan, min_size)
        nan = (float("nan"), float("nan"))
        if plan.classes is not None and plan.positive_class is not None:
            dp_diff, dp_ratio = spread.get("selection_rate", nan)
            tpr_diff, _ = spread.get("true_positive_rate", nan)
            fpr_diff, _ = spread.get("false_positive_rate", nan)
            eo = (
                max(tpr_diff, fpr_diff)
                if np.isfinite(tpr_diff) and np.isfinite(fpr_diff)
                else float("nan")
            )
            entry.update(
                {
                    "demographic_parity_difference": dp_diff,
                    "demographic_parity_ratio": dp_ratio,
                    "equalized_odds_difference": eo,
                }
            )
            if np.isfinite(dp_ratio) and dp_ratio < ratio_limit:
                entry["flags"].append(
                    f"disparate impact: selection-rate ratio {dp_ratio:.2f} is below the four-fifths rule ({ratio_limit})"
                )
            if np.isfinite(eo) and eo > odds_limit:
                entry["flags"].append(
                    f"equalized odds difference {eo:.2f} exceeds {odds_limit}"
                )
        elif plan.classes is None:
            _, best_over_worst = spread.get("mean_absolute_error", nan)
            ratio = 1 / best_over_worst if best_over_worst > 0 else float("nan")
            entry["error_ratio"] = ratio
            if np.isfinite(ratio) and ratio > error_ratio_limit:
                entry["flags"].append(
                    f"MAE of the worst group is {ratio:.2f}x the best (limit {error_ratio_limit})"
                )
        else:
            acc_diff, _ = spread.get("accuracy", nan)
            entry["accuracy_difference"] = acc_diff
        out[feature.name] = entry
    return out
