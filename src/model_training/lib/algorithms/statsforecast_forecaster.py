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

from model_training.lib.algorithms.forecasters import Forecaster, normal_quantile
from model_training.lib.core.seasons import seasonalities

KINDS = ("auto_arima", "auto_ets", "auto_theta", "mstl")

ARIMA_MAX_SEASON = 12  # longer seasons: ARIMA on the STL-adjusted series

_LEVEL = 90  # the interval the models report; standard errors are derived from it


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
            try:
                self.model_ = self._model(len(y)).fit(
                    np.asarray(y, dtype=float), X=self._exog(cov)
                )
            except NotImplementedError as error:  # statsforecast: "tiny datasets"
                raise ValueError(
                    f"{len(y)} points are too few for {self.kind}'s "
                    f"models to be estimated (statsforecast: {error}); the other "
                    "forecasters are judged without it"
                ) from None
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
        """Points needed before a forecast: two of the model's seasons and two
        more. Once fitted, the seasons it was fitted with: a weekly series of
        62 points drops its 52-week season, and asking for 106 points of
        history had left every forecast of it empty (nan)."""
        periods = self._periods(getattr(self, "n_fit_", 10**9))
        return 2 * (periods[0] if periods else 1) + 2
