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
        from model_training.lib.algorithms.statsmodels_forecaster import (
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
            params["windows"] = hidden_layers(params["windows"])
        return LagRegressor(kind=kind, random_state=seed, **params)

    return make


_FORECAST = {"class_weight": False, "sample_weight": False, "scaled": False}

FORECASTERS: tuple[Algorithm, ...] = (
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
