"""Regression algorithms: factories and their registry entries."""

from __future__ import annotations

from model_training.lib.algorithms.algorithm import (
    BOOSTED_TREES,
    LIGHTGBM_FIXED,
    REGRESSOR,
    Algorithm,
    catboost_params,
    hidden_layers,
)
from model_training.lib.core.threads import fit_threads


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
    from model_training.lib.algorithms.forests import ThreadedRandomForestRegressor

    return ThreadedRandomForestRegressor(random_state=seed, **params)


def _catboost_reg(params, seed, _cw):
    from model_training.lib.algorithms.catboost_frames import (
        CatBoostCategoricalRegressor,
    )

    return CatBoostCategoricalRegressor(
        random_seed=seed,
        verbose=False,
        allow_writing_files=False,
        thread_count=fit_threads(),
        **catboost_params(params),
    )


def _hgb_reg(params, seed, _cw):
    from sklearn.ensemble import HistGradientBoostingRegressor

    return HistGradientBoostingRegressor(random_state=seed, **params)


def _lgbm_reg(params, seed, _cw):
    from lightgbm import LGBMRegressor

    return LGBMRegressor(random_state=seed, **LIGHTGBM_FIXED, **params)


def _mlp_reg(params, seed, _cw):
    from sklearn.neural_network import MLPRegressor

    params = dict(params)
    if "hidden_layer_sizes" in params:
        params["hidden_layer_sizes"] = hidden_layers(params["hidden_layer_sizes"])
    return MLPRegressor(random_state=seed, **params)


REGRESSORS: tuple[Algorithm, ...] = (
    Algorithm(
        "linear_regression",
        REGRESSOR,
        _linear,
        "ordinary least squares",
        interpretability=5,
        cost=1,
    ),
    Algorithm(
        "ridge",
        REGRESSOR,
        _ridge,
        "L2-regularised linear regression",
        interpretability=5,
        cost=1,
    ),
    Algorithm(
        "lasso",
        REGRESSOR,
        _lasso,
        "L1-regularised linear regression",
        interpretability=5,
        row_guard=200_000,
        cost=1,
    ),
    Algorithm(
        "random_forest",
        REGRESSOR,
        _random_forest_reg,
        "random forest",
        scaled=False,
        interpretability=2,
        row_guard=100_000,
        cost=3,
        trees_param="n_estimators",
    ),
    Algorithm(
        "catboost",
        REGRESSOR,
        _catboost_reg,
        "CatBoost gradient boosting, native categoricals",
        scaled=False,
        native_categorical=True,
        interpretability=2,
        iterations_param="iterations",
        family=BOOSTED_TREES,
    ),
    Algorithm(
        "hist_gradient_boosting",
        REGRESSOR,
        _hgb_reg,
        "histogram gradient boosting",
        scaled=False,
        interpretability=2,
        iterations_param="max_iter",
        family=BOOSTED_TREES,
    ),
    Algorithm(
        "lightgbm",
        REGRESSOR,
        _lgbm_reg,
        "LightGBM gradient boosting (leaf-wise trees; fast on large data)",
        scaled=False,
        interpretability=2,
        iterations_param="n_estimators",
        family=BOOSTED_TREES,
        cost=1,
    ),
    Algorithm(
        "mlp",
        REGRESSOR,
        _mlp_reg,
        "multi-layer perceptron",
        row_guard=50000,
        interpretability=1,
        cost=4,
    ),
)
