"""Stage steps 7 and 8.1: feature importance and explanations.

* native importance (impurity, split-based or absolute coefficients), mapped
  back from encoded columns to the original features;
* permutation importance on the test split (repeats, mean and std), with the
  primary metric;
* SHAP: ``TreeExplainer`` for forests, gradient boosting and CatBoost,
  ``LinearExplainer`` for linear models, a sampled permutation explainer
  otherwise; computed on the model's encoded inputs (pandas at the SHAP
  boundary) and summed back per original feature (SHAP values are additive);
* partial dependence for the top features; local explanations of chosen rows.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
import polars as pl

from model_training.lib.algorithms.ensemble import fitted_members, is_ensemble
from model_training.lib.core.plan import ModelingPlan

logger = logging.getLogger(__name__)


def unwrap(model: Any) -> Any:
    """The fitted pipeline inside the decision and calibration wrappers."""
    while hasattr(model, "estimator") and not hasattr(model, "named_steps"):
        model = model.estimator
    return model


def split_pipeline(model: Any) -> tuple[Any, Any]:
    """(the transforming steps, the final estimator) of the fitted pipeline."""
    pipeline = unwrap(model)
    steps = [step for name, step in pipeline.steps[:-1] if name != "resample"]
    return steps, pipeline.steps[-1][1]


def transform(steps: list[Any], x: pl.DataFrame) -> pd.DataFrame:
    """Apply the fitted transforming steps; a named pandas frame comes out."""
    data: Any = x
    names: list[str] | None = None
    for step in steps:
        data = step.transform(data)
        if hasattr(step, "get_feature_names_out"):
            try:
                names = list(step.get_feature_names_out(names))
            except (TypeError, ValueError, AttributeError):
                names = None
    if isinstance(data, pd.DataFrame):
        return data
    data = np.asarray(data)
    if names is None or len(names) != data.shape[1]:
        names = [f"x{i}" for i in range(data.shape[1])]
    return pd.DataFrame(data, columns=names)


def original_feature(encoded: str, plan: ModelingPlan) -> str:
    """Map an encoded column name (``cat__purpose_car``) to its original feature."""
    name = encoded.split("__", 1)[1] if "__" in encoded else encoded
    name = name.removeprefix("missingindicator_")
    if name in plan.features:
        return name
    matches = [f for f in plan.features if name.startswith(f + "_")]
    return max(matches, key=len) if matches else name


def aggregate(values: dict[str, float], plan: ModelingPlan) -> dict[str, float]:
    """Sum encoded-column values per original feature."""
    out: dict[str, float] = {}
    for encoded, value in values.items():
        key = original_feature(encoded, plan)
        out[key] = out.get(key, 0.0) + float(value)
    return dict(sorted(out.items(), key=lambda kv: -abs(kv[1])))


def native_importance(
    model: Any, x: pl.DataFrame, plan: ModelingPlan
) -> dict[str, Any]:
    """The estimator's own importance, per original feature (normalised to sum 1);
    for an ensemble, its members' importances weighted as it weights them."""
    if is_ensemble(unwrap(model)):
        return _ensemble_importance(model, x, plan)
    steps, estimator = split_pipeline(model)
    columns = list(transform(steps, x.head(5)).columns)
    kind, raw = None, None
    if hasattr(estimator, "get_feature_importance"):  # CatBoost
        kind, raw = (
            "prediction_values_change",
            np.asarray(estimator.get_feature_importance()),
        )
    elif hasattr(estimator, "feature_importances_"):
        kind, raw = "impurity", np.asarray(estimator.feature_importances_)
    elif hasattr(estimator, "coef_"):
        coef = np.atleast_2d(estimator.coef_)
        kind, raw = "absolute_coefficient", np.abs(coef).mean(axis=0)
    if raw is None or len(raw) != len(columns):
        return {"kind": None, "values": {}}
    total = raw.sum() or 1.0
    return {
        "kind": kind,
        "values": aggregate(dict(zip(columns, raw / total, strict=True)), plan),
    }


def _ensemble_importance(
    model: Any, x: pl.DataFrame, plan: ModelingPlan
) -> dict[str, Any]:
    parts = [
        (native_importance(member, x, plan), weight)
        for member, weight in fitted_members(unwrap(model))
    ]
    usable = [(p, w) for p, w in parts if p["kind"]]
    if not usable:
        return {"kind": None, "values": {}}
    total = sum(w for _, w in usable)
    values: dict[str, float] = {}
    for part, weight in usable:
        for feature, value in part["values"].items():
            values[feature] = values.get(feature, 0.0) + value * weight / total
    return {
        "kind": "weighted over the ensemble's members ("
        + ", ".join(sorted({p["kind"] for p, _ in usable}))
        + ")",
        "values": values,
    }


def coefficients(model: Any, x: pl.DataFrame) -> dict[str, float] | None:
    """A linear model's coefficients per encoded column (standardised inputs), or None."""
    if is_ensemble(unwrap(model)):
        return None
    steps, estimator = split_pipeline(model)
    if not hasattr(estimator, "coef_"):
        return None
    columns = list(transform(steps, x.head(5)).columns)
    coef = np.atleast_2d(estimator.coef_)
    if coef.shape[1] != len(columns):
        return None
    values = coef[-1] if coef.shape[0] <= 2 else np.abs(coef).mean(axis=0)
    return dict(
        sorted(
            zip(columns, map(float, values), strict=True), key=lambda kv: -abs(kv[1])
        )
    )


def local_explanations(
    shap_result: dict[str, Any],
    x: pl.DataFrame,
    y: np.ndarray,
    output: np.ndarray,
    plan: ModelingPlan,
    threshold: float | None,
    top: int = 8,
) -> list[dict[str, Any]]:
    """Explain three chosen rows: the highest score, the most borderline, the worst error."""
    rows = shap_result["rows"]
    sub_out = output[rows]
    sub_y = y[rows]
    picks: dict[str, int] = {"highest_score": int(np.argmax(sub_out))}
    if threshold is not None and plan.classes is None:  # an anomaly score and its cut
        from model_training.lib.core.metric_functions import has_labels

        picks["borderline"] = int(np.argmin(np.abs(sub_out - threshold)))
        truth = np.array([str(v) == str(plan.positive_class) for v in sub_y])
        if has_labels(sub_y) and truth.any():
            # the labelled anomaly the model found least unusual
            candidates = np.where(truth)[0]
            picks["worst_error"] = int(candidates[np.argmin(sub_out[candidates])])
    elif threshold is not None:
        picks["borderline"] = int(np.argmin(np.abs(sub_out - threshold)))
        truth = np.array(
            [str(v) == str(plan.positive_class) for v in sub_y], dtype=float
        )
        picks["worst_error"] = int(np.argmax(np.abs(truth - sub_out)))
    else:
        picks["borderline"] = int(np.argmin(np.abs(sub_out - np.median(sub_out))))
        picks["worst_error"] = (
            int(np.argmax(np.abs(sub_y.astype(float) - sub_out)))
            if plan.classes is None
            else 0
        )
    by_feature = shap_result["by_feature"]
    explained = []
    for reason, i in picks.items():
        contributions = by_feature.iloc[i].to_dict()
        ordered = sorted(contributions.items(), key=lambda kv: -abs(kv[1]))
        row = x[int(rows[i])]
        explained.append(
            {
                "reason": reason,
                "test_row": int(rows[i]),
                "actual": sub_y[i].item() if hasattr(sub_y[i], "item") else sub_y[i],
                "model_output": float(sub_out[i]),
                "base_value": shap_result["base_value"],
                "contributions": [
                    {"feature": f, "value": row.get_column(f).item(), "shap": float(v)}
                    for f, v in ordered[:top]
                ],
                "other_features_shap": float(sum(v for _, v in ordered[top:])),
            }
        )
    return explained


def cluster_separation(
    x: pl.DataFrame, clusters: np.ndarray, plan: ModelingPlan
) -> dict[str, float]:
    """ANOVA F of each numeric feature across clusters (noise rows left out).

    Large values: the feature's cluster means differ a lot relative to its
    spread within clusters, i.e. it separates the clusters.
    """
    from sklearn.feature_selection import f_classif

    keep = np.asarray(clusters) != -1
    numeric = [c for c in plan.numeric_features if c in x.columns]
    if not numeric or len(set(np.asarray(clusters)[keep].tolist())) < 2:
        return {}
    data = x.select(numeric).to_numpy()[keep]
    data = np.where(np.isnan(data), np.nanmedian(data, axis=0), data)
    f_values, _ = f_classif(data, np.asarray(clusters)[keep])
    pairs = sorted(
        zip(numeric, np.nan_to_num(f_values), strict=True), key=lambda p: -p[1]
    )
    return {name: float(value) for name, value in pairs}
