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


def group_table(
    groups: np.ndarray, y: np.ndarray, y_pred: np.ndarray, plan: ModelingPlan
) -> dict[str, dict[str, float]]:
    """Per group: size, and selection rate, TPR, FPR, precision, accuracy (classification) or MAE (regression)."""
    table = {}
    for group in sorted(set(groups), key=str):
        mask = groups == group
        row: dict[str, float] = {"size": int(mask.sum())}
        if plan.classes is None:
            row["mean_absolute_error"] = float(
                np.mean(np.abs(y[mask].astype(float) - y_pred[mask].astype(float)))
            )
            row["mean_error"] = float(
                np.mean(y_pred[mask].astype(float) - y[mask].astype(float))
            )
        else:
            row["accuracy"] = float(
                np.mean(y[mask].astype(str) == y_pred[mask].astype(str))
            )
            if plan.positive_class is not None:
                positive = str(plan.positive_class)
                actual = y[mask].astype(str) == positive
                called = y_pred[mask].astype(str) == positive
                row["selection_rate"] = float(called.mean())
                row["true_positive_rate"] = (
                    float(called[actual].mean()) if actual.any() else float("nan")
                )
                row["false_positive_rate"] = (
                    float(called[~actual].mean()) if (~actual).any() else float("nan")
                )
                row["precision"] = (
                    float(actual[called].mean()) if called.any() else float("nan")
                )
                row["base_rate"] = float(actual.mean())
        table[str(group)] = row
    return table


def _spread(
    table: dict[str, dict[str, float]], key: str, min_size: int
) -> tuple[float, float]:
    values = [
        r[key]
        for r in table.values()
        if r["size"] >= min_size and np.isfinite(r.get(key, np.nan))
    ]
    if len(values) < 2:
        return float("nan"), float("nan")
    high, low = max(values), min(values)
    return high - low, (low / high if high > 0 else float("nan"))


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
        if plan.classes is not None and plan.positive_class is not None:
            dp_diff, dp_ratio = _spread(table, "selection_rate", min_size)
            tpr_diff, _ = _spread(table, "true_positive_rate", min_size)
            fpr_diff, _ = _spread(table, "false_positive_rate", min_size)
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
            values = [
                r["mean_absolute_error"]
                for r in table.values()
                if r["size"] >= min_size
            ]
            ratio = (
                max(values) / min(values)
                if len(values) >= 2 and min(values) > 0
                else float("nan")
            )
            entry["error_ratio"] = ratio
            if np.isfinite(ratio) and ratio > error_ratio_limit:
                entry["flags"].append(
                    f"MAE of the worst group is {ratio:.2f}x the best (limit {error_ratio_limit})"
                )
        else:
            acc_diff, _ = _spread(table, "accuracy", min_size)
            entry["accuracy_difference"] = acc_diff
        out[feature.name] = entry
    return out
