"""Statistical forecasters: SARIMA and exponential smoothing (statsmodels), known covariates as exogenous."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from model_training.lib.algorithms.forecasters import Forecaster, normal_quantile


class StatsmodelsForecaster(Forecaster):
    """SARIMA(X) or exponential smoothing (ETS) from statsmodels, analytic intervals.

    ``apply`` carries the fitted parameters to a new history for walk-forward
    forecasts, so nothing is refitted between blocks.
    """

    _analytic = True

    def __init__(
        self,
        kind: str = "sarima",
        order: tuple[int, int, int] = (1, 1, 1),
        seasonal_order: tuple[int, int, int] = (0, 1, 1),
        trend: str | None = "add",
        seasonal: str | None = "add",
        damped: bool = False,
        seasonal_period: int = 1,
        horizon: int = 1,
        time_column: str = "time",
        frequency: str = "D",
        known_covariates: tuple[str, ...] = (),
        lagged_covariates: tuple[str, ...] = (),
    ) -> None:
        self.kind = kind
        self.order = order
        self.seasonal_order = seasonal_order
        self.trend = trend
        self.seasonal = seasonal
        self.damped = damped
        self.seasonal_period = seasonal_period
        self.horizon = horizon
        self.time_column = time_column
        self.frequency = frequency
        self.known_covariates = known_covariates
        self.lagged_covariates = lagged_covariates

    def _model(self, y, cov, enforce: bool = False):
        s = int(self.seasonal_period)
        if self.kind == "sarima":
            from statsmodels.tsa.statespace.sarimax import SARIMAX

            seasonal = (*tuple(self.seasonal_order), s) if s > 1 else (0, 0, 0, 0)
            return SARIMAX(
                y,
                exog=cov,
                order=tuple(self.order),
                seasonal_order=seasonal,
                enforce_stationarity=enforce,
                enforce_invertibility=enforce,
            )
        from statsmodels.tsa.exponential_smoothing.ets import ETSModel

        seasonal = self.seasonal if s > 1 and len(y) >= 2 * s else None
        return ETSModel(
            pd.Series(np.asarray(y, dtype=float)),
            error="add",
            trend=self.trend,
            damped_trend=bool(self.damped) and self.trend is not None,
            seasonal=seasonal,
            seasonal_periods=s if seasonal else None,
        )

    def _fit(self, y, cov, times) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            exog = self._known(cov) if self.kind == "sarima" else None
            self.result_ = self._model(y, exog).fit(disp=False)
            if self.kind == "sarima" and not self._sane(self.result_, y):
                # an unconverged, unconstrained fit can explode: refit with
                # stationarity and invertibility enforced
                self.result_ = self._model(y, exog, enforce=True).fit(
                    disp=False, maxiter=200
                )
        self.n_fit_ = len(y)
        self.fit_y_ = np.asarray(y, dtype=float)

    def _forecast(self, y, cov, times, future_cov, future_times, steps):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if len(y) == self.n_fit_ and np.array_equal(y, self.fit_y_):
                result = self.result_
            elif self.kind == "sarima":
                result = self.result_.apply(y, exog=self._known(cov))
            else:
                model = self._model(y, None)
                result = model.smooth(self.result_.params)
            if self.kind == "sarima":
                forecast = result.get_forecast(steps, exog=future_cov)
                return forecast.predicted_mean, np.sqrt(forecast.var_pred_mean)
            prediction = result.get_prediction(start=len(y), end=len(y) + steps - 1)
            frame = prediction.summary_frame(alpha=0.1)
            mean = frame["mean"].to_numpy()
            se = (frame["pi_upper"].to_numpy() - mean) / normal_quantile(0.9)
            return mean, se

    def _min_history(self) -> int:
        return 2 * max(int(self.seasonal_period), 1) + 2

    @staticmethod
    def _sane(result: Any, y: np.ndarray) -> bool:
        """Converged, finite, and forecasts within a wide band around the data."""
        converged = bool(
            (getattr(result, "mle_retvals", None) or {}).get("converged", True)
        )
        if getattr(result.model, "k_exog", 0):  # forecasts would need future exog
            return converged and bool(np.isfinite(np.asarray(result.params)).all())
        ahead = np.asarray(result.forecast(max(len(y) // 4, 1)), dtype=float)
        spread = float(np.ptp(y)) or 1.0
        inside = np.all(np.abs(ahead - y[-1]) < 10 * spread)
        return converged and bool(np.isfinite(ahead).all() and inside)
