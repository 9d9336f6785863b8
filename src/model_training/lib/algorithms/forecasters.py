"""Forecasters for time-series epics: one interface for baselines and models.

A forecaster is fitted on a history (rows in time order: the time column, the
known-in-advance covariates, and the target ``y``) and forecasts by timestamp:
``predict(x)`` takes future rows (the time column and known covariates) and
returns the forecast for each, counting steps from the end of the history at
the epic's frequency. Multi-step forecasts are **recursive**: one-step-ahead
forecasts are fed back as inputs for the next step (the statsmodels models do
the same internally).

``forecast_from(history_y, history_x, future_x)`` forecasts after a given
history with the fitted parameters, without refitting: walk-forward evaluation
uses it to forecast each block of the validation or test span from the actual
values before the block.

Prediction intervals (``interval(x, level)``): analytic for SARIMA and ETS;
for the baselines and the lag models, the empirical quantiles of
``k``-step-ahead errors measured on the last part of the training history
(refitting on the earlier part), per horizon step.

Nothing in a forecaster looks at a value later than the origin it forecasts
from: lag, rolling and seasonal features are built from the history only
(``lag_features`` is tested for this).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import polars as pl
from sklearn.base import BaseEstimator, clone

from model_training.lib.algorithms.interval_calibration import scaled_bounds


def times_of(x: Any, time_column: str) -> pd.DatetimeIndex:
    values = (
        x.get_column(time_column) if isinstance(x, pl.DataFrame) else x[time_column]
    )
    values = np.asarray(values)
    try:
        return pd.DatetimeIndex(pd.to_datetime(values))
    except ValueError:
        # pandas takes the format of the first string for all: ISO 8601 stamps
        # written with and without a time ("2024-01-01", "2024-01-01T00:30")
        return pd.DatetimeIndex(pd.to_datetime(values, format="ISO8601"))


def covariates_of(x: Any, columns: list[str]) -> np.ndarray | None:
    if not columns:
        return None
    frame = x.select(columns) if isinstance(x, pl.DataFrame) else x[columns]
    data = np.asarray(
        frame.to_numpy() if hasattr(frame, "to_numpy") else frame, dtype=float
    )
    if np.isnan(data).any():  # carry the last value forward, then back
        data = pd.DataFrame(data).ffill().bfill().fillna(0.0).to_numpy()
    return data


def steps_after(
    last: pd.Timestamp, times: pd.DatetimeIndex, frequency: str
) -> np.ndarray:
    """How many periods of ``frequency`` each time lies after ``last`` (1 = next)."""
    if len(times) == 0:
        return np.array([], dtype=int)
    end = max(times.max(), last)
    grid = pd.date_range(start=last, end=end, freq=frequency)
    position = {t: i for i, t in enumerate(grid)}
    out = []
    for t in times:
        if t not in position:
            raise ValueError(
                f"timestamp {t} is not on the {frequency!r} grid after {last}"
            )
        out.append(position[t])
    return np.asarray(out, dtype=int)


def lag_features(
    history: np.ndarray,
    lags: list[int],
    windows: list[int],
) -> np.ndarray:
    """Features of the next value after ``history``: lags and rolling stats.

    Row ``t`` of the training matrix uses ``history[:t]`` only (see
    :func:`training_matrix`); here the features of one step after the end of
    ``history``.
    """
    n = len(history)
    out = [history[n - lag] if n >= lag else np.nan for lag in lags]
    for window in windows:
        part = history[max(0, n - window) : n]
        out += (
            [float(np.mean(part)), float(np.std(part))] if len(part) else [np.nan] * 2
        )
    return np.asarray(out, dtype=float)


def training_matrix(
    y: np.ndarray, lags: list[int], windows: list[int]
) -> tuple[np.ndarray, np.ndarray]:
    """Feature rows (built from values before ``t`` only) and targets ``y[t]``."""
    start = max([*lags, *windows, 1])
    rows = [lag_features(y[:t], lags, windows) for t in range(start, len(y))]
    return np.asarray(rows, dtype=float).reshape(-1, len(lags) + 2 * len(windows)), y[
        start:
    ]


def calendar_features(times: pd.DatetimeIndex, frequency: str) -> np.ndarray:
    """Calendar features fitting the frequency (month, weekday, hour)."""
    unit = frequency.lstrip("0123456789").upper()
    columns = []
    if unit.startswith(("M", "Q", "W", "D", "B", "H", "T", "MIN", "S")):
        columns.append(times.month.to_numpy())
    if unit.startswith(("D", "B", "H", "T", "MIN", "S")):
        columns.append(times.dayofweek.to_numpy())
    if unit.startswith(("H", "T", "MIN", "S")):
        columns.append(times.hour.to_numpy())
    if not columns:
        return np.zeros((len(times), 0))
    return np.column_stack(columns).astype(float)


class Forecaster(BaseEstimator):
    """Base class: history bookkeeping, timestamps, walk-forward and intervals.

    Subclasses implement ``_fit(y, cov, times)`` and ``_forecast(y, cov, times,
    future_cov, future_times, steps) -> (mean, se or None)`` where ``steps`` is
    the number of periods to forecast after the history.
    """

    time_column: str = "time"
    frequency: str = "D"
    known_covariates: tuple[str, ...] = ()
    lagged_covariates: tuple[str, ...] = ()
    seasonal_period: int = 1

    def covariate_columns(self) -> list[str]:
        """History covariates: known in advance first, then the lagged ones."""
        return [*(self.known_covariates or ()), *(self.lagged_covariates or ())]

    def _known(self, cov: np.ndarray | None) -> np.ndarray | None:
        """The known-in-advance columns of a history covariate matrix."""
        n = len(self.known_covariates or ())
        return None if cov is None or n == 0 else cov[:, :n]

    # -- fitting --------------------------------------------------------------
    def fit(self, x: Any, y: Any = None) -> Forecaster:
        times = times_of(x, self.time_column)
        order = np.argsort(times.to_numpy(), kind="stable")
        cov = covariates_of(x, self.covariate_columns())
        return self.fit_history(
            np.asarray(y, dtype=float)[order],
            None if cov is None else cov[order],
            times[order],
        )

    def fit_history(
        self, y: np.ndarray, cov: np.ndarray | None, times: pd.DatetimeIndex
    ) -> Forecaster:
        """Fit on a history already in time order (values, covariates, times)."""
        self.history_y_ = y
        self.history_cov_ = cov
        self.history_times_ = times
        self._fit(y, cov, times)
        self.step_errors_ = self._holdout_errors(y, cov, times)
        return self

    def _fit(
        self, y: np.ndarray, cov: np.ndarray | None, times: pd.DatetimeIndex
    ) -> None:
        raise NotImplementedError

    def _forecast(self, y, cov, times, future_cov, future_times, steps):
        raise NotImplementedError

    # -- forecasting ------------------------------------------------------------
    def _future(
        self, x: Any, last: pd.Timestamp
    ) -> tuple[np.ndarray, pd.DatetimeIndex, np.ndarray | None, int]:
        times = times_of(x, self.time_column)
        steps = steps_after(last, times, self.frequency)
        horizon = int(steps.max()) if len(steps) else 0
        grid = pd.date_range(start=last, periods=horizon + 1, freq=self.frequency)[1:]
        future_cov = None
        if self.known_covariates:
            given = covariates_of(x, list(self.known_covariates))
            future_cov = np.full((horizon, given.shape[1]), np.nan)
            future_cov[steps - 1] = given
            future_cov = pd.DataFrame(future_cov).ffill().bfill().fillna(0.0).to_numpy()
        return steps, grid, future_cov, horizon

    def forecast_with_interval(
        self,
        history_y: np.ndarray,
        history_cov: np.ndarray | None,
        history_times: pd.DatetimeIndex,
        x: Any,
        level: float = 0.9,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Forecasts for the rows of ``x`` after the given history, with one pass
        of the forecaster: (mean, lower, upper, horizon step)."""
        steps, grid, future_cov, horizon = self._future(x, history_times[-1])
        if horizon == 0:
            empty = np.array([])
            return empty, empty, empty, steps
        mean, se = self._forecast(
            history_y, history_cov, history_times, future_cov, grid, horizon
        )
        mean = np.asarray(mean, dtype=float)[steps - 1]
        lower, upper = self._bounds(mean, steps, se, level)
        # the walk-forward folds' conformal factor, at the level it was set for
        calibrated = getattr(self, "interval_calibration_", None)
        if calibrated and calibrated.get("scale") and calibrated["level"] == level:
            lower, upper = scaled_bounds(mean, lower, upper, calibrated["scale"])
        return mean, lower, upper, steps

    def forecast_from(
        self,
        history_y: np.ndarray,
        history_cov: np.ndarray | None,
        history_times: pd.DatetimeIndex,
        x: Any,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Forecasts for the rows of ``x`` after the given history: (mean, step)."""
        mean, _, _, steps = self.forecast_with_interval(
            history_y, history_cov, history_times, x
        )
        return mean, steps

    def predict_with_interval(
        self, x: Any, level: float = 0.9
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Forecasts after the fitted history: (mean, lower, upper, horizon step)."""
        return self.forecast_with_interval(
            self.history_y_, self.history_cov_, self.history_times_, x, level
        )

    def predict(self, x: Any) -> np.ndarray:
        return self.predict_with_interval(x)[0]

    def interval(self, x: Any, level: float = 0.9) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper bounds of the central ``level`` prediction interval."""
        _, lower, upper, _ = self.predict_with_interval(x, level)
        return lower, upper

    @property
    def history_end(self) -> pd.Timestamp:
        return self.history_times_[-1]

    def _bounds(self, mean, steps, se, level):
        if se is not None:
            z = normal_quantile(level)
            se = np.asarray(se, dtype=float)[steps - 1]
            # a failed variance (e.g. an unconverged fit) falls back to a
            # random-walk spread of the history's one-step changes
            fallback = np.std(np.diff(self.history_y_)) * np.sqrt(steps)
            se = np.where(np.isfinite(se) & (se >= 0), se, fallback)
            return mean - z * se, mean + z * se
        errors = self.step_errors_
        lo_q, hi_q = (1 - level) / 2, 1 - (1 - level) / 2
        lower, upper = np.empty(len(mean)), np.empty(len(mean))
        for i, step in enumerate(steps):
            errs = errors.get(int(step)) or errors.get(max(errors)) if errors else None
            if errs is None or len(errs) < 3:
                spread = (
                    np.std(np.diff(self.history_y_))
                    * np.sqrt(step)
                    * normal_quantile(level)
                )
                lower[i], upper[i] = mean[i] - spread, mean[i] + spread
            else:
                lower[i] = mean[i] + np.quantile(errs, lo_q)
                upper[i] = mean[i] + np.quantile(errs, hi_q)
        return lower, upper

    def _holdout_errors(self, y, cov, times) -> dict[int, list[float]]:
        """``k``-step errors on the last part of the history (a refit on the rest).

        Only for forecasters without analytic intervals; origins every step over
        the last ``max(3 x horizon, 40%)`` rows (a model fitted on 60 % of the
        history errs a little more than the final one: the intervals lean wide).
        """
        if self._analytic:
            return {}
        horizon = int(getattr(self, "horizon", 1) or 1)
        holdout = max(3 * horizon, (2 * len(y)) // 5)
        if len(y) - holdout < max(self._min_history(), 2):
            return {}
        early = clone(self)
        early._fit(
            y[:-holdout], None if cov is None else cov[:-holdout], times[:-holdout]
        )
        errors: dict[int, list[float]] = {}
        origins = np.arange(len(y) - holdout, len(y) - 1)
        for origin, mean in zip(
            origins,
            early._forecast_origins(y, cov, times, origins, horizon),
            strict=True,
        ):
            for k in range(len(mean)):
                errors.setdefault(k + 1, []).append(float(y[origin + k] - mean[k]))
        return errors

    def _forecast_origins(
        self,
        y: np.ndarray,
        cov: np.ndarray | None,
        times: pd.DatetimeIndex,
        origins: np.ndarray,
        horizon: int,
    ) -> list[np.ndarray]:
        """The forecasts from each origin (history ``y[:origin]``) for the
        ``min(horizon, len(y) - origin)`` periods after it, the times and known
        covariates of those periods read from ``times`` and ``cov``. One
        forecast per origin here; a subclass may forecast them all at once."""
        known = self._known(cov)
        out = []
        for origin in origins:
            steps = min(horizon, len(y) - origin)
            mean, _ = self._forecast(
                y[:origin],
                None if cov is None else cov[:origin],
                times[:origin],
                None if known is None else known[origin : origin + steps],
                times[origin : origin + steps],
                steps,
            )
            out.append(np.asarray(mean, dtype=float)[:steps])
        return out

    _analytic = False

    def _min_history(self) -> int:
        return 2


def normal_quantile(level: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(1 - (1 - level) / 2))


class NaiveForecaster(Forecaster):
    """Baselines: last value, value one season ago, or mean of the last window."""

    def __init__(
        self,
        method: str = "naive",
        window: int = 3,
        seasonal_period: int = 1,
        horizon: int = 1,
        time_column: str = "time",
        frequency: str = "D",
        known_covariates: tuple[str, ...] = (),
        lagged_covariates: tuple[str, ...] = (),
    ) -> None:
        self.method = method
        self.window = window
        self.seasonal_period = seasonal_period
        self.horizon = horizon
        self.time_column = time_column
        self.frequency = frequency
        self.known_covariates = known_covariates
        self.lagged_covariates = lagged_covariates

    def _fit(self, y, cov, times) -> None:
        self.fitted_ = True

    def _min_history(self) -> int:
        return max(self.seasonal_period, self.window, 1)

    def _forecast(self, y, cov, times, future_cov, future_times, steps):
        if self.method == "seasonal_naive":
            s = max(int(self.seasonal_period), 1)
            season = y[-s:] if len(y) >= s else np.repeat(y[-1], s)
            mean = np.array([season[k % s] for k in range(steps)])
        elif self.method == "moving_average":
            mean = np.repeat(np.mean(y[-self.window :]), steps)
        else:
            mean = np.repeat(y[-1], steps)
        return mean, None
