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
import time
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
from sklearn.base import BaseEstimator

from model_training.lib.core.metrics import compute_metrics
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
    """The estimator's own importance, per original feature (normalised to sum 1)."""
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


def coefficients(model: Any, x: pl.DataFrame) -> dict[str, float] | None:
    """A linear model's coefficients per encoded column (standardised inputs), or None."""
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
) -> dict[str, dict[str, float]]:
    """Drop in the primary metric when one feature's values are shuffled
    (scikit-learn's ``permutation_importance`` with the primary metric).

    Positive means the feature matters (a worse score when shuffled), whatever
    the metric's direction.
    """
    from sklearn.inspection import permutation_importance as sklearn_permutation

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
        x.select(plan.features).to_pandas(),
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
        for i, feature in enumerate(plan.features)
    }
    return dict(sorted(out.items(), key=lambda kv: -kv[1]["mean"]))


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

    steps, estimator = split_pipeline(model)
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(x.height, size=min(max_rows, x.height), replace=False))
    data = transform(steps, x[rows])
    back = transform(steps, background.sample(min(100, background.height), seed=seed))
    classification = plan.classes is not None
    name = type(estimator).__name__
    tree = name.startswith(
        (
            "CatBoost",
            "RandomForest",
            "ExtraTrees",
            "HistGradientBoosting",
            "BalancedRandomForest",
        )
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
    values, base = _pick_output(values, base, explained_class)
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


def _pick_output(
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
