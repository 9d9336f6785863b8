"""Forecasting algorithms: factories and their registry entries."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from model_training.lib.algorithms.algorithm import (
    FORECASTER,
    Algorithm,
    hidden_layers,
)


def _forecaster(kind: str) -> Callable[[dict[str, Any], int, Any], Any]:
    """A factory for a time-series candidate (the plan's settings come later)."""

    def make(params: dict[str, Any], seed: int, _cw: Any) -> Any:
        from model_training.lib.algorithms.lag_forecaster import LagRegressor
        from model_training.lib.algorithms.statsforecast_forecaster import (
            KINDS,
            StatsForecaster,
        )

        if kind in KINDS:
            return StatsForecaster(kind=kind, **params)
        params = dict(params)
        if "windows" in params:
            params["windows"] = hidden_layers(params["windows"])
        return LagRegressor(kind=kind, random_state=seed, **params)

    return make


_FORECAST = {"class_weight": False, "sample_weight": False, "scaled": False}

FORECASTERS: tuple[Algorithm, ...] = (
    Algorithm(
        "auto_arima",
        FORECASTER,
        _forecaster("auto_arima"),
        "ARIMA with automatic orders (statsforecast AutoARIMA; known covariates "
        "as exogenous regressors; seasons longer than 12 periods removed by STL "
        "first)",
        interpretability=4,
        cost=3,
        **_FORECAST,
    ),
    Algorithm(
        "auto_ets",
        FORECASTER,
        _forecaster("auto_ets"),
        "exponential smoothing with automatic error, trend and season forms "
        "(statsforecast AutoETS)",
        interpretability=4,
        cost=1,
        **_FORECAST,
    ),
    Algorithm(
        "auto_theta",
        FORECASTER,
        _forecaster("auto_theta"),
        "theta method with automatic variant (statsforecast AutoTheta)",
        interpretability=4,
        cost=1,
        **_FORECAST,
    ),
    Algorithm(
        "mstl",
        FORECASTER,
        _forecaster("mstl"),
        "MSTL decomposition over every seasonality of the frequency, ETS trend "
        "(statsforecast)",
        interpretability=3,
        cost=1,
        **_FORECAST,
    ),
    Algorithm(
        "gbm_lags",
        FORECASTER,
        _forecaster("gbm"),
        "gradient boosting on lags, rolling statistics, calendar and covariates",
        interpretability=2,
        cost=2,
        **_FORECAST,
    ),
    Algorithm(
        "mlp_lags",
        FORECASTER,
        _forecaster("mlp"),
        "neural network (MLP) on scaled lag windows",
        interpretability=1,
        cost=2,
        **_FORECAST,
    ),
)
