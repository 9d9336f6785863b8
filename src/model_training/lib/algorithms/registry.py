"""Candidate models: one factory per algorithm, each a full scikit-learn pipeline.

Every candidate is built as ``preprocess -> [select] -> [resample] -> model`` in
an imbalanced-learn ``Pipeline``, so imputation, scaling, encoding, feature
selection and resampling are fitted on training rows only (inside each CV fold).

CatBoost gets its categorical features natively (as text, never
``pl.Categorical``: STACK.md §5); every other model gets one-hot encoding.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer

from model_training.lib.algorithms.preprocessing import (
    CategoryFiller,
    make_preprocessor,
)
from model_training.lib.core.plan import ModelingPlan

CLASSIFIER = "classification"
REGRESSOR = "regression"
CLUSTERER = "clustering"
DETECTOR = "anomaly_detection"

# Imbalance strategies: how each one enters a pipeline.
RESAMPLERS = ("smote", "undersample")
WEIGHTINGS = ("class_weight", "cost_sensitive")


@dataclass(frozen=True)
class Algorithm:
    """A candidate algorithm.

    Attributes:
        name: the key used in specs, parameters and reports.
        task: ``classification`` or ``regression``.
        make: ``make(params, seed, class_weight) -> estimator``.
        description: one line for reports.
        scaled: whether numeric features are standardised first.
        native_categorical: CatBoost-style native categorical handling.
        class_weight: whether the estimator takes ``class_weight``.
        sample_weight: whether ``fit`` takes ``sample_weight``.
        row_guard: rows above which the model is fitted on a subsample
            (its cost grows faster than linearly with rows); None for no guard.
        interpretability: 1 (opaque) to 5 (transparent), for the comparison.
    """

    name: str
    task: str
    make: Callable[[dict[str, Any], int, Any], Any]
    description: str
    scaled: bool = True
    native_categorical: bool = False
    class_weight: bool = True
    sample_weight: bool = True
    row_guard: int | None = None
    interpretability: int = 3
    extra_imbalance: tuple[str, ...] = field(default_factory=tuple)

    def imbalance_options(self, has_cost_matrix: bool) -> list[str]:
        """The imbalance strategies this algorithm can use."""
        options = ["none"]
        if self.class_weight:
            options.append("class_weight")
        if has_cost_matrix and self.sample_weight:
            options.append("cost_sensitive")
        if not self.native_categorical:
            options += list(RESAMPLERS)
        options += list(self.extra_imbalance)
        return options


def _hidden(value: Any) -> tuple[int, ...]:
    if isinstance(value, (list, tuple)):
        return tuple(int(v) for v in value)
    if isinstance(value, str):
        return tuple(int(v) for v in value.split("-") if v)
    return (int(value),)


def _logistic(params, seed, class_weight):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(
        max_iter=5000, random_state=seed, class_weight=class_weight, **params
    )


def _random_forest_clf(params, seed, class_weight):
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(
        random_state=seed, class_weight=class_weight, **params
    )


def _balanced_random_forest(params, seed, _class_weight):
    from imblearn.ensemble import BalancedRandomForestClassifier

    return BalancedRandomForestClassifier(random_state=seed, **params)


def _catboost_clf(params, seed, class_weight):
    from catboost import CatBoostClassifier

    extra = {"auto_class_weights": "Balanced"} if class_weight == "balanced" else {}
    return CatBoostClassifier(
        random_seed=seed,
        verbose=False,
        allow_writing_files=False,
        thread_count=-1,
        **extra,
        **params,
    )


def _hgb_clf(params, seed, class_weight):
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(
        random_state=seed, class_weight=class_weight, **params
    )


def _svm_clf(params, seed, class_weight):
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.svm import SVC

    # Platt-scaled probabilities from 3-fold cross-fitting; scikit-learn 1.9
    # deprecates SVC(probability=True) in favour of this.
    svc = SVC(kernel="rbf", random_state=seed, class_weight=class_weight, **params)
    return CalibratedClassifierCV(svc, method="sigmoid", cv=3, ensemble=False)


def _mlp_clf(params, seed, _class_weight):
    from sklearn.neural_network import MLPClassifier

    params = dict(params)
    if "hidden_layer_sizes" in params:
        params["hidden_layer_sizes"] = _hidden(params["hidden_layer_sizes"])
    return MLPClassifier(random_state=seed, **params)


def _linear(params, _seed, _cw):
    from sklearn.linear_model import LinearRegression

    return LinearRegression(**params)


def _ridge(params, seed, _cw):
    from sklearn.linear_model import Ridge

    return Ridge(random_state=seed, **params)


def _lasso(params, seed, _cw):
    from sklearn.linear_model import Lasso

    return Lasso(random_state=seed, max_iter=20000, **params)


def _random_forest_reg(params, seed, _cw):
    from sklearn.ensemble import RandomForestRegressor

    return RandomForestRegressor(random_state=seed, **params)


def _catboost_reg(params, seed, _cw):
    from catboost import CatBoostRegressor

    return CatBoostRegressor(
        random_seed=seed,
        verbose=False,
        allow_writing_files=False,
        thread_count=-1,
        **params,
    )


def _hgb_reg(params, seed, _cw):
    from sklearn.ensemble import HistGradientBoostingRegressor

    return HistGradientBoostingRegressor(random_state=seed, **params)


def _mlp_reg(params, seed, _cw):
    from sklearn.neural_network import MLPRegressor

    params = dict(params)
    if "hidden_layer_sizes" in params:
        params["hidden_layer_sizes"] = _hidden(params["hidden_layer_sizes"])
    return MLPRegressor(random_state=seed, **params)


def _kmeans(params, seed, _cw):
    from sklearn.cluster import KMeans

    from model_training.lib.algorithms.unsupervised import ClusterModel

    return ClusterModel(
        KMeans(
            n_clusters=int(params.get("n_clusters", 3)),
            n_init=int(params.get("n_init", 10)),
            random_state=seed,
        )
    )


def _dbscan(params, _seed, _cw):
    from sklearn.cluster import DBSCAN

    from model_training.lib.algorithms.unsupervised import ClusterModel

    return ClusterModel(
        DBSCAN(
            eps=float(params.get("eps", 0.8)),
            min_samples=int(params.get("min_samples", 5)),
        )
    )


def _agglomerative(params, _seed, _cw):
    from sklearn.cluster import AgglomerativeClustering

    from model_training.lib.algorithms.unsupervised import ClusterModel

    return ClusterModel(
        AgglomerativeClustering(
            n_clusters=int(params.get("n_clusters", 3)),
            linkage=str(params.get("linkage", "ward")),
        )
    )


def _gaussian_mixture(params, seed, _cw):
    from sklearn.mixture import GaussianMixture

    from model_training.lib.algorithms.unsupervised import ClusterModel

    return ClusterModel(
        GaussianMixture(
            n_components=int(params.get("n_components", 3)),
            covariance_type=str(params.get("covariance_type", "full")),
            random_state=seed,
        )
    )


def _isolation_forest(params, seed, _cw):
    from sklearn.ensemble import IsolationForest

    from model_training.lib.algorithms.unsupervised import AnomalyScorer

    return AnomalyScorer(
        IsolationForest(
            n_estimators=int(params.get("n_estimators", 200)),
            max_samples=params.get("max_samples", "auto"),
            max_features=float(params.get("max_features", 1.0)),
            random_state=seed,
        )
    )


def _one_class_svm(params, _seed, _cw):
    from sklearn.svm import OneClassSVM

    from model_training.lib.algorithms.unsupervised import AnomalyScorer

    return AnomalyScorer(
        OneClassSVM(
            nu=float(params.get("nu", 0.05)), gamma=params.get("gamma", "scale")
        )
    )


def _local_outlier_factor(params, _seed, _cw):
    from sklearn.neighbors import LocalOutlierFactor

    from model_training.lib.algorithms.unsupervised import AnomalyScorer

    return AnomalyScorer(
        LocalOutlierFactor(n_neighbors=int(params.get("n_neighbors", 20)), novelty=True)
    )


def _autoencoder(params, seed, _cw):
    from model_training.lib.algorithms.unsupervised import (
        AnomalyScorer,
        Autoencoder,
    )

    width = int(params.get("width", 16))
    bottleneck = int(params.get("bottleneck", 4))
    return AnomalyScorer(
        Autoencoder(
            hidden=(width, bottleneck, width),
            alpha=float(params.get("alpha", 1e-4)),
            max_iter=int(params.get("max_iter", 400)),
            random_state=seed,
        )
    )


_UNSUPERVISED = {"class_weight": False, "sample_weight": False}

ALGORITHMS: dict[tuple[str, str], Algorithm] = {
    (a.task, a.name): a
    for a in (
        Algorithm(
            "logistic_regression",
            CLASSIFIER,
            _logistic,
            "L2 logistic regression",
            interpretability=5,
        ),
        Algorithm(
            "random_forest",
            CLASSIFIER,
            _random_forest_clf,
            "random forest",
            scaled=False,
            interpretability=2,
            extra_imbalance=("balanced_rf",),
        ),
        Algorithm(
            "catboost",
            CLASSIFIER,
            _catboost_clf,
            "CatBoost gradient boosting, native categoricals",
            scaled=False,
            native_categorical=True,
            interpretability=2,
        ),
        Algorithm(
            "hist_gradient_boosting",
            CLASSIFIER,
            _hgb_clf,
            "histogram gradient boosting",
            scaled=False,
            interpretability=2,
        ),
        Algorithm(
            "svm_rbf",
            CLASSIFIER,
            _svm_clf,
            "support vector machine, RBF kernel, Platt probabilities",
            row_guard=5000,
            interpretability=1,
        ),
        Algorithm(
            "mlp",
            CLASSIFIER,
            _mlp_clf,
            "multi-layer perceptron",
            class_weight=False,
            row_guard=50000,
            interpretability=1,
        ),
        Algorithm(
            "linear_regression",
            REGRESSOR,
            _linear,
            "ordinary least squares",
            interpretability=5,
        ),
        Algorithm(
            "ridge",
            REGRESSOR,
            _ridge,
            "L2-regularised linear regression",
            interpretability=5,
        ),
        Algorithm(
            "lasso",
            REGRESSOR,
            _lasso,
            "L1-regularised linear regression",
            interpretability=5,
        ),
        Algorithm(
            "random_forest",
            REGRESSOR,
            _random_forest_reg,
            "random forest",
            scaled=False,
            interpretability=2,
        ),
        Algorithm(
            "catboost",
            REGRESSOR,
            _catboost_reg,
            "CatBoost gradient boosting, native categoricals",
            scaled=False,
            native_categorical=True,
            interpretability=2,
        ),
        Algorithm(
            "hist_gradient_boosting",
            REGRESSOR,
            _hgb_reg,
            "histogram gradient boosting",
            scaled=False,
            interpretability=2,
        ),
        Algorithm(
            "mlp",
            REGRESSOR,
            _mlp_reg,
            "multi-layer perceptron",
            row_guard=50000,
            interpretability=1,
        ),
        Algorithm(
            "kmeans",
            CLUSTERER,
            _kmeans,
            "k-means on scaled features",
            interpretability=4,
            **_UNSUPERVISED,
        ),
        Algorithm(
            "dbscan",
            CLUSTERER,
            _dbscan,
            "DBSCAN density clustering (noise rows labelled -1)",
            row_guard=20000,
            interpretability=3,
            **_UNSUPERVISED,
        ),
        Algorithm(
            "agglomerative",
            CLUSTERER,
            _agglomerative,
            "hierarchical (agglomerative) clustering",
            row_guard=10000,
            interpretability=3,
            **_UNSUPERVISED,
        ),
        Algorithm(
            "gaussian_mixture",
            CLUSTERER,
            _gaussian_mixture,
            "Gaussian mixture model",
            interpretability=3,
            **_UNSUPERVISED,
        ),
        Algorithm(
            "isolation_forest",
            DETECTOR,
            _isolation_forest,
            "isolation forest",
            interpretability=2,
            **_UNSUPERVISED,
        ),
        Algorithm(
            "one_class_svm",
            DETECTOR,
            _one_class_svm,
            "one-class SVM (RBF)",
            row_guard=10000,
            interpretability=1,
            **_UNSUPERVISED,
        ),
        Algorithm(
            "local_outlier_factor",
            DETECTOR,
            _local_outlier_factor,
            "local outlier factor (novelty mode)",
            row_guard=50000,
            interpretability=2,
            **_UNSUPERVISED,
        ),
        Algorithm(
            "autoencoder",
            DETECTOR,
            _autoencoder,
            "autoencoder (reconstruction error of a small neural network)",
            interpretability=1,
            **_UNSUPERVISED,
        ),
    )
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
    return ColumnTransformer(
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
    selection_options: dict[str, Any] | None = None,
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
    """
    from imblearn.pipeline import Pipeline

    from model_training.lib.algorithms.feature_selection import make_selector

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
        selection_options or {},
        native=algo.native_categorical,
    )
    if selector is not None:
        steps.append(("select", selector))
    if imbalance == "smote":
        from imblearn.over_sampling import SMOTE

        steps.append(("resample", SMOTE(random_state=seed)))
    elif imbalance == "undersample":
        from imblearn.under_sampling import RandomUnderSampler

        steps.append(("resample", RandomUnderSampler(random_state=seed)))
    class_weight = "balanced" if imbalance == "class_weight" else None
    if imbalance == "balanced_rf":
        model = _balanced_random_forest(params, seed, None)
    else:
        model = algo.make(params, seed, class_weight)
    if plan.spec.kind.flags_anomalies and plan.contamination is not None:
        model.set_params(contamination=plan.contamination)
    if algo.native_categorical and plan.categorical_features:
        # a tuple, not a list: scikit-learn's clone() rejects the list CatBoost copies
        model.set_params(cat_features=tuple(plan.categorical_features))
    steps.append(("model", model))
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
        from model_training.lib.algorithms.forecasters import PerSeries

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


def _forecaster(kind: str) -> Callable[[dict[str, Any], int, Any], Any]:
    """A factory for a time-series candidate (the plan's settings come later)."""

    def make(params: dict[str, Any], seed: int, _cw: Any) -> Any:
        from model_training.lib.algorithms.forecasters import (
            LagRegressor,
            StatsmodelsForecaster,
        )

        params = dict(params)
        if kind in ("sarima", "ets"):
            if kind == "sarima":
                params["order"] = (
                    int(params.pop("p", 1)),
                    int(params.pop("d", 1)),
                    int(params.pop("q", 1)),
                )
                params["seasonal_order"] = (
                    int(params.pop("P", 0)),
                    int(params.pop("D", 1)),
                    int(params.pop("Q", 1)),
                )
            else:
                for key in ("trend", "seasonal"):
                    if params.get(key) in ("none", "None"):
                        params[key] = None
            return StatsmodelsForecaster(kind=kind, **params)
        if "windows" in params:
            params["windows"] = _hidden(params["windows"])
        return LagRegressor(kind=kind, random_state=seed, **params)

    return make


FORECASTER = "time_series"
_FORECAST = {"class_weight": False, "sample_weight": False, "scaled": False}

ALGORITHMS.update(
    {
        (FORECASTER, a.name): a
        for a in (
            Algorithm(
                "sarima",
                FORECASTER,
                _forecaster("sarima"),
                "seasonal ARIMA (statsmodels SARIMAX; known covariates as exogenous)",
                interpretability=4,
                **_FORECAST,
            ),
            Algorithm(
                "ets",
                FORECASTER,
                _forecaster("ets"),
                "exponential smoothing (statsmodels ETS, additive errors)",
                interpretability=4,
                **_FORECAST,
            ),
            Algorithm(
                "gbm_lags",
                FORECASTER,
                _forecaster("gbm"),
                "gradient boosting on lags, rolling statistics, calendar and covariates",
                interpretability=2,
                **_FORECAST,
            ),
            Algorithm(
                "mlp_lags",
                FORECASTER,
                _forecaster("mlp"),
                "neural network (MLP) on scaled lag windows",
                interpretability=1,
                **_FORECAST,
            ),
        )
    }
)
