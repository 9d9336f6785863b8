"""Candidate models: one factory per algorithm, each a full scikit-learn pipeline.

Every candidate is built as ``preprocess -> [select] -> [resample] -> model`` in
an imbalanced-learn ``Pipeline``, so imputation, scaling, encoding, feature
selection and resampling are fitted on training rows only (inside each CV fold).

CatBoost gets its categorical features natively (as text, never
``pl.Categorical``: STACK.md §5); every other model gets one-hot encoding.

The algorithms themselves live by family: classifiers, regressors, detectors
(clustering and anomaly detection) and forecasting.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer

from model_training.lib.algorithms.algorithm import (
    Algorithm,
)
from model_training.lib.algorithms.classifiers import (
    CLASSIFIERS,
    balanced_random_forest,
)
from model_training.lib.algorithms.detectors import CLUSTERERS, DETECTORS
from model_training.lib.algorithms.feature_transform import FeatureTransformer
from model_training.lib.algorithms.forecasting import FORECASTERS
from model_training.lib.algorithms.preprocessing import (
    CategoryFiller,
    FoldSMOTE,
    make_preprocessor,
)
from model_training.lib.algorithms.regressors import REGRESSORS
from model_training.lib.core.params import FeatureSelectionOptions
from model_training.lib.core.plan import ModelingPlan

ALGORITHMS: dict[tuple[str, str], Algorithm] = {
    (a.task, a.name): a
    for a in (*CLASSIFIERS, *REGRESSORS, *CLUSTERERS, *DETECTORS, *FORECASTERS)
}


def algorithm(task: str, name: str) -> Algorithm:
    """Look up an algorithm, or raise naming the ones available."""
    try:
        return ALGORITHMS[(task, name)]
    except KeyError:
        known = ", ".join(sorted(n for t, n in ALGORITHMS if t == task))
        raise ValueError(
            f"unknown {task} algorithm '{name}'; available: {known}"
        ) from None


def available(task: str) -> list[str]:
    """Names of the algorithms of a task, in registry order."""
    return [n for t, n in ALGORITHMS if t == task]


def _native_preprocessor(plan: ModelingPlan) -> ColumnTransformer:
    """Impute numerics; pass categoricals through as text (missing -> a category)."""
    transformers = []
    if plan.numeric_features:
        transformers.append(
            (
                "num",
                SimpleImputer(strategy="median", keep_empty_features=True),
                plan.numeric_features,
            )
        )
    if plan.categorical_features:
        transformers.append(("cat", CategoryFiller(), plan.categorical_features))
    return FeatureTransformer(
        transformers, remainder="drop", verbose_feature_names_out=False
    ).set_output(transform="pandas")


def build_pipeline(
    plan: ModelingPlan,
    algo: Algorithm,
    params: dict[str, Any],
    seed: int,
    *,
    imbalance: str = "none",
    feature_selection: str = "none",
    selection_options: FeatureSelectionOptions | None = None,
) -> Any:
    """Build the full, unfitted pipeline of one candidate configuration.

    Args:
        plan: the modeling plan.
        algo: the algorithm.
        params: its hyperparameters.
        seed: random seed for every random step.
        imbalance: ``none``, ``class_weight``, ``cost_sensitive`` (weights are
            passed at fit time, see :func:`fit_params`), ``smote``,
            ``undersample`` or ``balanced_rf``.
        feature_selection: ``none``, ``importance``, ``rfe``, ``l1`` or
            ``correlation`` (see :mod:`model_training.lib.algorithms.feature_selection`).
        selection_options: options of the feature-selection step.

    ``params`` may hold ``target_transform``: ``log1p`` fits the model on
    log(1 + target) (:mod:`model_training.lib.algorithms.target_transform`).
    """
    from imblearn.pipeline import Pipeline

    from model_training.lib.algorithms.feature_selection import make_selector
    from model_training.lib.algorithms.target_transform import (
        LOG1P,
        MEAN_METRICS,
        LogTargetPipeline,
    )

    params = dict(params)
    target_transform = params.pop("target_transform", "none")
    if plan.spec.kind.temporal:
        # a forecaster reads the time column and covariates itself
        return Pipeline(
            [("model", configure_forecaster(algo.make(params, seed, None), plan))]
        )
    steps: list[tuple[str, Any]] = []
    if algo.native_categorical:
        steps.append(("preprocess", _native_preprocessor(plan)))
    else:
        steps.append(("preprocess", make_preprocessor(plan, scale=algo.scaled)))
    selector = make_selector(
        feature_selection,
        plan.spec.kind.classification,
        seed,
        selection_options,
        native=algo.native_categorical,
    )
    if selector is not None:
        steps.append(("select", selector))
    if imbalance == "smote":
        steps.append(("resample", FoldSMOTE(random_state=seed)))
    elif imbalance == "undersample":
        from imblearn.under_sampling import RandomUnderSampler

        steps.append(("resample", RandomUnderSampler(random_state=seed)))
    class_weight = "balanced" if imbalance == "class_weight" else None
    if imbalance == "balanced_rf":
        model = balanced_random_forest(params, seed, None)
    else:
        model = algo.make(params, seed, class_weight)
    if plan.spec.kind.flags_anomalies and plan.contamination is not None:
        model.set_params(contamination=plan.contamination)
    if algo.native_categorical and plan.categorical_features:
        # a tuple, not a list: scikit-learn's clone() rejects the list CatBoost copies
        model.set_params(cat_features=tuple(plan.categorical_features))
    steps.append(("model", model))
    if target_transform == LOG1P:
        return LogTargetPipeline(
            steps, smearing=plan.spec.primary_metric in MEAN_METRICS
        )
    return Pipeline(steps)


def configure_forecaster(forecaster: Any, plan: ModelingPlan) -> Any:
    """Give a forecaster the plan's time column, frequency, season, horizon, covariates."""
    spec = plan.spec
    configured = forecaster.set_params(
        time_column=spec.time_column,
        frequency=spec.frequency,
        seasonal_period=spec.seasonal_period or 1,
        horizon=spec.forecast_horizon or 1,
        known_covariates=tuple(spec.known_covariates),
        lagged_covariates=tuple(
            f for f in plan.numeric_features if f not in spec.known_covariates
        ),
    )
    if spec.series_column:
        from model_training.lib.algorithms.per_series import PerSeries

        return PerSeries(configured, spec.series_column)
    return configured


def class_costs(plan: ModelingPlan) -> dict[Any, float] | None:
    """Per-class weight from the cost matrix: the cost of misclassifying the class."""
    context = plan.metric_context
    cost = context["cost_matrix"]
    if cost is None:
        return None
    table = np.asarray(cost["costs"], dtype=float)
    return {label: float(table[i].max()) for i, label in enumerate(cost["labels"])}


def fit_params(plan: ModelingPlan, imbalance: str, y: np.ndarray) -> dict[str, Any]:
    """Keyword arguments for ``pipeline.fit`` (cost-sensitive sample weights)."""
    if imbalance != "cost_sensitive":
        return {}
    costs = class_costs(plan)
    if costs is None:
        return {}
    by_name = {str(k): v for k, v in costs.items()}
    weights = np.array([by_name.get(str(v), 1.0) for v in y], dtype=float)
    return {"model__sample_weight": weights / weights.mean()}
