"""SHAP values of the final model: TreeExplainer for trees and boosting, LinearExplainer for linear models, a sampled permutation explainer otherwise; computed on the encoded inputs and summed back per original feature."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd
import polars as pl

from model_training.lib.algorithms.ensemble import fitted_members, is_ensemble
from model_training.lib.assessment.explain import (
    logger,
    original_feature,
    split_pipeline,
    transform,
    unwrap,
)
from model_training.lib.core.plan import ModelingPlan


def shap_values(
    model: Any,
    x: pl.DataFrame,
    background: pl.DataFrame,
    plan: ModelingPlan,
    seed: int,
    max_rows: int,
) -> dict[str, Any]:
    """SHAP values of the explained output for up to ``max_rows`` rows of ``x``.

    The explained output is the model's raw score toward the positive class
    (binary), the last class (multiclass) or the prediction (regression),
    before calibration and threshold.

    Returns:
        ``explainer``, ``output``, ``base_value``, ``values`` (rows x encoded
        columns), ``data`` (the encoded rows, pandas), ``rows`` (their indices in
        ``x``), ``by_feature`` (values summed per original feature, pandas).
    """
    import shap

    if is_ensemble(unwrap(model)):
        return _ensemble_shap_values(model, x, background, plan, seed, max_rows)
    steps, estimator = split_pipeline(model)
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(x.height, size=min(max_rows, x.height), replace=False))
    data = transform(steps, x[rows])
    back = transform(steps, background.sample(min(100, background.height), seed=seed))
    classification = plan.classes is not None
    name = type(estimator).__name__
    tree = any(
        kind.__name__.startswith(
            ("CatBoost", "RandomForest", "ExtraTrees", "HistGradientBoosting")
        )
        for kind in type(estimator).__mro__
    )
    linear = hasattr(estimator, "coef_") and not name.startswith("MLP")
    explained_class = None
    if classification:
        fitted = [str(c) for c in getattr(estimator, "classes_", [])]
        target_class = str(plan.classes[-1])
        explained_class = (
            fitted.index(target_class) if target_class in fitted else len(fitted) - 1
        )
    started = time.monotonic()
    logger.info(
        "SHAP: explaining %d of %d test rows (%s)...",
        len(rows),
        x.height,
        "TreeExplainer"
        if tree
        else "LinearExplainer"
        if linear
        else "sampled PermutationExplainer",
    )
    if tree:
        explainer = shap.TreeExplainer(estimator)
        values = explainer.shap_values(data)
        base = explainer.expected_value
        kind = "TreeExplainer"
    elif linear:
        explainer = shap.LinearExplainer(estimator, back.to_numpy(dtype=float))
        values = explainer.shap_values(data.to_numpy(dtype=float))
        base = explainer.expected_value
        kind = "LinearExplainer"
    else:
        named = hasattr(estimator, "feature_names_in_")

        def as_input(frame: np.ndarray) -> Any:
            # as the estimator was fitted: with column names, or a bare array
            # (an estimator fitted on numpy warns on every call given a frame)
            return pd.DataFrame(frame, columns=data.columns) if named else frame

        if classification:

            def output(frame: np.ndarray) -> np.ndarray:
                proba = estimator.predict_proba(as_input(frame))
                return proba[:, explained_class]
        else:

            def output(frame: np.ndarray) -> np.ndarray:
                return estimator.predict(as_input(frame))

        explainer = shap.PermutationExplainer(
            output, back.to_numpy(dtype=float), seed=seed
        )
        explained = explainer(
            data.to_numpy(dtype=float), max_evals=2 * data.shape[1] + 1
        )
        values, base = explained.values, explained.base_values
        kind = "PermutationExplainer (sampled)"
    values, base = pick_output(values, base, explained_class)
    logger.info("SHAP: done in %.1f s", time.monotonic() - started)
    by_feature = pd.DataFrame(
        {f: np.zeros(len(rows)) for f in plan.features}, index=range(len(rows))
    )
    for j, column in enumerate(data.columns):
        feature = original_feature(str(column), plan)
        if feature in by_feature.columns:
            by_feature[feature] += values[:, j]
    return {
        "explainer": kind,
        "base_value": float(np.mean(base)),
        "values": values,
        "data": data,
        "rows": rows,
        "by_feature": by_feature,
    }


def _ensemble_shap_values(
    model: Any,
    x: pl.DataFrame,
    background: pl.DataFrame,
    plan: ModelingPlan,
    seed: int,
    max_rows: int,
) -> dict[str, Any]:
    """An ensemble's SHAP values: each member's, on the same rows, weighted as
    the ensemble weights its members' outputs (SHAP values are additive).

    Each member is explained on its own raw output (log-odds for classifiers),
    so the sum is the weighted mean of the members' raw outputs, an
    approximation of the ensemble's averaged probability that ranks features
    the same way the members do.
    """
    parts = [
        (shap_values(member, x, background, plan, seed, max_rows), weight)
        for member, weight in fitted_members(unwrap(model))
    ]
    first = parts[0][0]
    by_feature = sum(result["by_feature"] * weight for result, weight in parts)
    return {
        "explainer": "weighted sum over the ensemble's members ("
        + ", ".join(f"{r['explainer']} x{w:.2f}" for r, w in parts)
        + ")",
        "base_value": float(sum(r["base_value"] * w for r, w in parts)),
        "values": by_feature.to_numpy(),
        "data": x[first["rows"]].select(plan.features).to_pandas(),
        "rows": first["rows"],
        "by_feature": by_feature,
    }


def pick_output(
    values: Any, base: Any, explained_class: int | None
) -> tuple[np.ndarray, Any]:
    """Reduce SHAP output to the explained class (positive or last class).

    Multi-output explainers give one slice per fitted class. Single-output
    binary explainers (CatBoost, logistic regression) explain the margin of the
    estimator's second class; when that is not the explained class, the sign is
    flipped, so positive values always push toward the explained class.
    """
    if isinstance(values, list):  # one array per class
        values = np.stack(values, axis=-1)
    values = np.asarray(values, dtype=float)
    base = np.asarray(base, dtype=float)
    if values.ndim == 3:  # rows x columns x outputs
        index = explained_class if explained_class is not None else -1
        values = values[:, :, index]
        base = base[..., index] if base.ndim else base
    elif explained_class == 0:
        values, base = -values, -base
    return values, base
