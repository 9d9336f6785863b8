"""SHAP values of the final model: TreeExplainer for trees and boosting, LinearExplainer for linear models, a sampled permutation explainer otherwise; computed on the encoded inputs and summed back per original feature."""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np
import pandas as pd
import polars as pl

from model_training.lib.algorithms.ensemble import fitted_members, is_ensemble
from model_training.lib.algorithms.target_transform import LOG1P, target_transform_of
from model_training.lib.assessment.explain import (
    logger,
    original_feature,
    split_pipeline,
    transform,
    unwrap,
)
from model_training.lib.core.plan import ModelingPlan

# rows of the training data a model-agnostic explainer integrates over
BACKGROUND_ROWS = 100
# the fewest rows a model-agnostic explainer explains, whatever they cost
MIN_AGNOSTIC_ROWS = 20
# ... and under a run budget that has no time left for more
MIN_TIMED_ROWS = 10


def _explainer_kind(estimator: Any) -> str:
    """``tree``, ``linear`` or ``agnostic`` (a sampled permutation explainer)."""
    name = type(estimator).__name__
    if any(
        kind.__name__.startswith(
            ("CatBoost", "RandomForest", "ExtraTrees", "HistGradientBoosting", "LGBM")
        )
        for kind in type(estimator).__mro__
    ):
        return "tree"
    if hasattr(estimator, "coef_") and not name.startswith("MLP"):
        return "linear"
    return "agnostic"


def _scoring_seconds(estimator: Any, encoded: pd.DataFrame, rows: int) -> float:
    """Seconds ``estimator`` takes to score ``rows`` encoded rows (the rows of
    ``encoded`` repeated), timed once: what one explained row costs a sampled
    permutation explainer."""
    frame = encoded.iloc[np.resize(np.arange(len(encoded)), rows)]
    data = frame if hasattr(estimator, "feature_names_in_") else frame.to_numpy()
    score = getattr(estimator, "predict_proba", None) or estimator.predict
    started = time.perf_counter()
    score(data)
    return time.perf_counter() - started


def explainable_rows(
    model: Any,
    x: pl.DataFrame,
    max_rows: int,
    max_evaluations: int,
    seconds: float | None = None,
) -> tuple[int, str | None]:
    """Rows to explain: ``max_rows``, or fewer when a model-agnostic explainer
    (or those of an ensemble's members) would score more than
    ``max_evaluations`` rows in all, or, given ``seconds``, take longer than
    that (the scoring of one explained row's evaluations, timed once per
    member). A sampled permutation explainer scores (2 x encoded columns + 1)
    x background rows per explained row: 12,100 rows for credit_risk's 60
    columns, 0.2 s for an SVM. Returns the rows and, when capped, the
    reason."""
    inner = unwrap(model)
    members = [m for m, _ in fitted_members(inner)] if is_ensemble(inner) else [model]
    rows = min(max_rows, x.height)
    reason = None
    per_explained_s = 0.0
    for member in members:
        steps, estimator = split_pipeline(member)
        if _explainer_kind(estimator) != "agnostic":
            continue
        encoded = transform(steps, x[: min(BACKGROUND_ROWS, x.height)])
        per_row = (2 * encoded.shape[1] + 1) * BACKGROUND_ROWS
        if seconds is not None:
            per_explained_s += _scoring_seconds(estimator, encoded, per_row)
        cap = max(MIN_AGNOSTIC_ROWS, max_evaluations // per_row)
        if cap < rows:
            rows = cap
            reason = (
                f"{type(estimator).__name__} is explained by a sampled permutation "
                f"explainer that scores {per_row:,} rows per explained row; "
                f"{rows} rows keep it within {max_evaluations:,} scored rows "
                "(evaluation.shap.max_evaluations)"
            )
    if seconds is not None and per_explained_s > 0:
        cap = max(MIN_TIMED_ROWS, int(seconds / per_explained_s))
        if cap < rows:
            rows = cap
            left = (
                f"{rows} rows keep it within the {seconds:.0f} s the run budget "
                "leaves it"
                if cap > MIN_TIMED_ROWS
                else f"the run budget leaves it no time ({seconds:.0f} s): the "
                f"fewest rows, {rows}"
            )
            reason = (
                "the sampled permutation explainer takes about "
                f"{per_explained_s:.2f} s per explained row; {left}"
            )
    return rows, reason


def shap_values(
    model: Any,
    x: pl.DataFrame,
    background: pl.DataFrame,
    plan: ModelingPlan,
    seed: int,
    max_rows: int,
    max_evaluations: int | None = None,
    seconds: float | None = None,
) -> dict[str, Any]:
    """SHAP values of the explained output for up to ``max_rows`` rows of ``x``
    (fewer when a model-agnostic explainer would exceed ``max_evaluations``
    scored rows, or ``seconds``: :func:`explainable_rows`).

    The explained output is the model's raw score toward the positive class
    (binary), the last class (multiclass) or the prediction (regression),
    before calibration and threshold.

    Returns:
        ``explainer``, ``output``, ``base_value``, ``values`` (rows x encoded
        columns), ``data`` (the encoded rows, pandas), ``rows`` (their indices in
        ``x``), ``by_feature`` (values summed per original feature, pandas), and
        ``row_cap`` (why fewer rows were explained, or None).
    """
    row_cap = None
    if max_evaluations is not None:
        max_rows, row_cap = explainable_rows(
            model, x, max_rows, max_evaluations, seconds
        )
        if row_cap:
            logger.info("SHAP: %d rows: %s", max_rows, row_cap)
    if is_ensemble(unwrap(model)):
        result = _ensemble_shap_values(model, x, background, plan, seed, max_rows)
    else:
        result = _one_model(model, x, background, plan, seed, max_rows)
    return {**result, "row_cap": row_cap}


def _one_model(
    model: Any,
    x: pl.DataFrame,
    background: pl.DataFrame,
    plan: ModelingPlan,
    seed: int,
    max_rows: int,
) -> dict[str, Any]:
    """SHAP values of one (non-ensemble) model (see :func:`shap_values`)."""
    import shap

    steps, estimator = split_pipeline(model)
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(x.height, size=min(max_rows, x.height), replace=False))
    data = transform(steps, x[rows])
    back = transform(
        steps, background.sample(min(BACKGROUND_ROWS, background.height), seed=seed)
    )
    classification = plan.classes is not None
    kind_of = _explainer_kind(estimator)
    tree, linear = kind_of == "tree", kind_of == "linear"
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
        with warnings.catch_warnings():
            # the list-of-arrays output it announces is what pick_output reads
            warnings.filterwarnings("ignore", message="LightGBM binary classifier")
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
        # a regressor fitted on log(1 + target) is explained on that scale
        "log_target": target_transform_of(model) == LOG1P,
        "smearing": float(getattr(unwrap(model), "smearing_", 1.0)),
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
        (
            _in_target_units(_one_model(member, x, background, plan, seed, max_rows)),
            weight,
        )
        for member, weight in fitted_members(unwrap(model))
    ]
    first = parts[0][0]
    by_feature = sum(result["by_feature"] * weight for result, weight in parts)
    linearised = any(r.get("linearised") for r, _ in parts)
    return {
        "explainer": "weighted sum over the ensemble's members ("
        + ", ".join(f"{r['explainer']} x{w:.2f}" for r, w in parts)
        + ")"
        + (
            "; members fitted on log(1 + target) converted to target units "
            "at their base value (first order)"
            if linearised
            else ""
        ),
        "base_value": float(sum(r["base_value"] * w for r, w in parts)),
        "values": by_feature.to_numpy(),
        "data": x[first["rows"]].select(plan.features).to_pandas(),
        "rows": first["rows"],
        "by_feature": by_feature,
    }


def _in_target_units(result: dict[str, Any]) -> dict[str, Any]:
    """A member explained in log(1 + target) units, converted to target units
    to first order at its base value b (its output is s e^z - 1 with s the
    smearing factor, whose derivative at b is s e^b), so that it adds up with
    the other members; others as they are."""
    if not result.get("log_target"):
        return result
    slope = float(np.exp(result["base_value"]) * result.get("smearing", 1.0))
    return {
        **result,
        "values": result["values"] * slope,
        "by_feature": result["by_feature"] * slope,
        "base_value": slope - 1.0,
        "log_target": False,
        "linearised": True,
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
