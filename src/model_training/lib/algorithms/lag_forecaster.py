"""Machine-learning forecasters: a regressor on lags, rolling statistics, calendar features and covariates, forecasting recursively."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from model_training.lib.algorithms.forecasters import (
    Forecaster,
    calendar_features,
    lag_features,
    training_matrix,
)

# the fewest rows a lag regressor learns from (see LagRegressor._fit)
FIT_ROWS = 10


class LagRegressor(Forecaster):
    """A regressor on lags, rolling means/stds, calendar and known covariates.

    ``kind``: ``gbm`` (histogram gradient boosting) or ``mlp`` (a neural
    network on scaled lag windows). Recursive multi-step forecasts.
    """

    def __init__(
        self,
        kind: str = "gbm",
        n_lags: int = 12,
        windows: tuple[int, ...] = (3, 12),
        seasonal_lag: bool = True,
        learning_rate: float = 0.05,
        max_iter: int = 300,
        max_leaf_nodes: int = 15,
        hidden: int = 32,
        alpha: float = 1e-3,
        seasonal_period: int = 1,
        horizon: int = 1,
        time_column: str = "time",
        frequency: str = "D",
        known_covariates: tuple[str, ...] = (),
        lagged_covariates: tuple[str, ...] = (),
        random_state: int = 0,
    ) -> None:
        self.kind = kind
        self.n_lags = n_lags
        self.windows = windows
        self.seasonal_lag = seasonal_lag
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.max_leaf_nodes = max_leaf_nodes
        self.hidden = hidden
        self.alpha = alpha
        self.seasonal_period = seasonal_period
        self.horizon = horizon
        self.time_column = time_column
        self.frequency = frequency
        self.known_covariates = known_covariates
        self.lagged_covariates = lagged_covariates
        self.random_state = random_state

    def _lags(self) -> list[int]:
        lags = list(range(1, int(self.n_lags) + 1))
        s = int(self.seasonal_period)
        if self.seasonal_lag and s > 1 and s not in lags:
            lags.append(s)
        cap = getattr(self, "max_lag_", None)
        return lags if cap is None else [lag for lag in lags if lag <= cap]

    def _windows(self) -> list[int]:
        cap = getattr(self, "max_lag_", None)
        return [int(w) for w in self.windows if cap is None or w <= cap]

    def _min_history(self) -> int:
        return max([*self._lags(), *self._windows()]) + 10

    def _design(self, lag_part, times, known, lagged):
        # level-free: every lag and rolling mean relative to the last value, so a
        # series that trends beyond its training range keeps its learned shape
        n_lags = len(self._lags())
        last = lag_part[:, [0]]
        relative = lag_part.copy()
        relative[:, 1:n_lags] -= last
        means = [n_lags + 2 * i for i in range(len(self._windows()))]
        relative[:, means] -= last
        parts = [relative[:, 1:], calendar_features(times, self.frequency)]
        for extra in (known, lagged):
            if extra is not None:
                # each covariate as it is and relative to the last value, since
                # the target is the change from the last value
                parts += [extra, extra - last]
        return np.column_stack(parts)

    def _lagged(self, cov: np.ndarray | None) -> np.ndarray | None:
        n = len(self.known_covariates or ())
        if cov is None or not self.lagged_covariates:
            return None
        return cov[:, n:]

    def _fit(self, y, cov, times) -> None:
        # lags and windows the history can feed while leaving FIT_ROWS rows to
        # learn from: twelve monthly lags on a series of 12 points (a firm's
        # years in a panel's training fold) left none, and the fit failed
        self.max_lag_ = max(1, len(y) - FIT_ROWS)
        lags, windows = self._lags(), self._windows()
        lag_part, target = training_matrix(y, lags, windows)
        start = len(y) - len(target)
        horizon = int(self.horizon or 1)
        lagged = self._lagged(cov)
        if lagged is not None and start < horizon:
            # a lagged covariate enters at lag = horizon: every forecast step
            # then reads an observed value
            lag_part, target = lag_part[horizon - start :], target[horizon - start :]
            start = horizon
        known = self._known(cov)
        design = self._design(
            lag_part,
            times[start:],
            None if known is None else known[start:],
            None if lagged is None else lagged[start - horizon : len(y) - horizon],
        )
        # learn the change from the last value: trends extrapolate, levels do not
        target = target - lag_part[:, 0]
        if self.kind == "mlp":
            from sklearn.neural_network import MLPRegressor
            from sklearn.pipeline import make_pipeline
            from sklearn.preprocessing import StandardScaler

            model = make_pipeline(
                StandardScaler(),
                MLPRegressor(
                    hidden_layer_sizes=(int(self.hidden),),
                    alpha=float(self.alpha),
                    max_iter=1000,
                    early_stopping=len(target) >= 50,
                    random_state=self.random_state,
                ),
            )
        else:
            from sklearn.ensemble import HistGradientBoostingRegressor

            model = HistGradientBoostingRegressor(
                learning_rate=float(self.learning_rate),
                max_iter=int(self.max_iter),
                max_leaf_nodes=int(self.max_leaf_nodes),
                random_state=self.random_state,
            )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.model_ = model.fit(design, target)

    def _forecast(self, y, cov, times, future_cov, future_times, steps):
        lags, windows = self._lags(), self._windows()
        history = list(np.asarray(y, dtype=float))
        lagged = self._lagged(cov)
        horizon = int(self.horizon or 1)
        n = len(history)
        out = []
        for k in range(steps):
            lag_part = lag_features(np.asarray(history), lags, windows)[None, :]
            row_cov = None if future_cov is None else future_cov[k : k + 1]
            row_lagged = None
            if lagged is not None:
                # the value `horizon` periods before the forecast time: observed,
                # since steps never exceed the horizon (else the last one)
                row_lagged = lagged[min(n + k - horizon, n - 1)][None, :]
            design = self._design(
                lag_part, future_times[k : k + 1], row_cov, row_lagged
            )
            value = float(self.model_.predict(design)[0]) + lag_part[0, 0]
            out.append(value)
            history.append(value)  # recursive: the forecast becomes a lag
        return np.asarray(out), None

    def _forecast_origins(
        self,
        y: np.ndarray,
        cov: np.ndarray | None,
        times: pd.DatetimeIndex,
        origins: np.ndarray,
        horizon: int,
    ) -> list[np.ndarray]:
        """Every origin's recursive forecast at once: step ``k`` of all of them
        is one prediction over as many rows, not one call per origin and step
        (thousands of one-row calls of a boosted model on a long series)."""
        lags, windows = self._lags(), self._windows()
        width = max([*lags, *windows])
        origins = np.asarray(origins, dtype=int)
        steps = np.minimum(horizon, len(y) - origins)
        # each origin's last `width` values (NaN before the series starts),
        # then its forecasts as they are made
        buffer = np.full((len(origins), width + int(steps.max(initial=0))), np.nan)
        for i, origin in enumerate(origins):
            take = np.asarray(y[max(0, origin - width) : origin], dtype=float)
            buffer[i, width - len(take) : width] = take
        known = self._known(cov)
        lagged = self._lagged(cov)
        own = int(self.horizon or 1)  # a lagged covariate enters at this lag
        for k in range(int(steps.max(initial=0))):
            rows = np.nonzero(steps > k)[0]
            end = width + k
            history = buffer[rows, :end]
            parts = [history[:, end - lag] for lag in lags]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN windows
                for window in windows:
                    part = history[:, end - window :]
                    parts += [np.nanmean(part, axis=1), np.nanstd(part, axis=1)]
            lag_part = np.column_stack(parts)
            at = origins[rows] + k
            design = self._design(
                lag_part,
                times[at],
                None if known is None else known[at],
                None
                if lagged is None
                else lagged[np.minimum(at - own, origins[rows] - 1)],
            )
            buffer[rows, end] = self.model_.predict(design) + lag_part[:, 0]
        return [buffer[i, width : width + steps[i]] for i in range(len(origins))]
