"""Statistical forecasters from statsforecast, with their own automatic model
selection: AutoARIMA (orders by information criterion), AutoETS (error,
trend and season forms), AutoTheta and MSTL (several seasonalities, e.g. daily
and weekly for half-hourly data, with an ETS trend).

Each fits in seconds on a few thousand points (compiled with numba), so the
stage needs no Optuna search over their orders: one fit per fold, and
walk-forward applies the fitted model to each new history with ``forward``
instead of refitting. Intervals are the models' own (analytic).

Seasonal ARIMA's cost grows steeply with the season's length (on 1,500 points:
11 s for 12, 28 s for 24, minutes for the 48 of half-hourly data); its seasonal
form is meant for short periods such as 12 months or 4 quarters (Hyndman and
Athanasopoulos, *Forecasting: Principles and Practice*, 3rd ed., section 12.1).
Beyond :data:`ARIMA_MAX_SEASON`, AutoARIMA models the series without its
seasons, which an STL decomposition removes and adds back (the book's treatment
of long seasonal periods): about a second on the same data.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from model_training.lib.algorithms.forecasters import Forecaster, normal_quantile

KINDS = ("auto_arima", "auto_ets", "auto_theta", "mstl")

# Seasonal periods implied by a pandas frequency alias (its base unit): the
# cycles a series of that frequency usually has. The spec's seasonal_period
# comes first when it is set.
SEASONALITIES = {
    "min": (1440, 10080),  # in minutes: a day and a week
    "h": (24, 168),
    "D": (7, 365),
    "B": (5, 260),
    "W": (52,),
    "MS": (12,),
    "ME": (12,),
    "M": (12,),
    "QS": (4,),
    "QE": (4,),
    "Q": (4,),
}

ARIMA_MAX_SEASON = 12  # longer seasons: ARIMA on the STL-adjusted series

_LEVEL = 90  # the interval the models report; standard errors are derived from it


def seasonalities(frequency: str, seasonal_period: int | None) -> tuple[int, ...]:
    """The seasonal periods of a frequency (``30min`` -> 48 and 336, ``h`` ->
    24 and 168, ``D`` -> 7 and 365), the spec's ``seasonal_period`` first."""
    offset = pd.tseries.frequencies.to_offset(frequency)
    base = offset.rule_code if hasattr(offset, "rule_code") else frequency
    multiple = max(int(getattr(offset, "n", 1) or 1), 1)
    periods: list[int] = []
    for key, values in SEASONALITIES.items():
        if base == key or base.split("-")[0] == key:
            periods = [v // multiple for v in values if v % multiple == 0]
            break
    ordered = (
        [seasonal_period] if seasonal_period and seasonal_period > 1 else []
    ) + periods
    return tuple(dict.fromkeys(p for p in ordered if p > 1))


class StatsForecaster(Forecaster):
    """A statsforecast model behind the stage's forecaster interface.

    ``kind``: ``auto_arima`` (known covariates as exogenous regressors),
    ``auto_ets``, ``auto_theta`` or ``mstl``. Seasonal periods longer than half
    the history are dropped (they cannot be estimated).
    """

    _analytic = True

    def __init__(
        self,
        kind: str = "auto_arima",
        seasonal_period: int = 1,
        horizon: int = 1,
        time_column: str = "time",
        frequency: str = "D",
        known_covariates: tuple[str, ...] = (),
        lagged_covariates: tuple[str, ...] = (),
    ) -> None:
        self.kind = kind
        self.seasonal_period = seasonal_period
        self.horizon = horizon
        self.time_column = time_column
        self.frequency = frequency
        self.known_covariates = known_covariates
        self.lagged_covariates = lagged_covariates

    def _periods(self, n: int) -> list[int]:
        return [
            p
            for p in seasonalities(self.frequency, int(self.seasonal_period or 1))
            if 2 * p < n
        ]

    def _model(self, n: int):
        from statsforecast.models import MSTL, AutoARIMA, AutoETS, AutoTheta

        periods = self._periods(n)
        season = periods[0] if periods else 1
        if self.kind == "auto_arima":
            if season > ARIMA_MAX_SEASON:
                return MSTL(season_length=periods, trend_forecaster=AutoARIMA())
            return AutoARIMA(season_length=season)
        if self.kind == "auto_ets":
            return AutoETS(season_length=season)
        if self.kind == "auto_theta":
            return AutoTheta(season_length=season)
        if self.kind == "mstl":
            if not periods:  # no season to decompose: the trend model alone
                return AutoETS(model="ZZN")
            return MSTL(season_length=periods, trend_forecaster=AutoETS(model="ZZN"))
        raise ValueError(
            f"unknown statsforecast model '{self.kind}'; use one of {KINDS}"
        )

    def _exog(self, cov: np.ndarray | None) -> np.ndarray | None:
        return self._known(cov) if self.kind == "auto_arima" else None

    def _fit(self, y, cov, times) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.model_ = self._model(len(y)).fit(
                np.asarray(y, dtype=float), X=self._exog(cov)
            )
        self.n_fit_ = len(y)
        self.fit_y_ = np.asarray(y, dtype=float)

    def _forecast(self, y, cov, times, future_cov, future_times, steps):
        y = np.asarray(y, dtype=float)
        exog = self._exog(cov)
        future = future_cov if exog is not None else None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if len(y) == self.n_fit_ and np.array_equal(y, self.fit_y_):
                out = self.model_.predict(h=steps, X=future, level=[_LEVEL])
            else:  # the fitted model on another history: nothing is re-estimated
                out = self.model_.forward(
                    y=y, h=steps, X=exog, X_future=future, level=[_LEVEL]
                )
        mean = np.asarray(out["mean"], dtype=float)
        se = (np.asarray(out[f"hi-{_LEVEL}"], dtype=float) - mean) / normal_quantile(
            _LEVEL / 100
        )
        return mean, se

    def _min_history(self) -> int:
        periods = self._periods(10**9)
        return 2 * (periods[0] if periods else 1) + 2
