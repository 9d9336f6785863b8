"""Panels of series: one forecaster per series, fitted and forecast independently."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import polars as pl
from sklearn.base import BaseEstimator, clone

from model_training.lib.algorithms.forecasters import Forecaster


class PerSeries(BaseEstimator):
    """Several series in one epic: one clone of ``forecaster`` per series id.

    Rows carry a ``series_column``; each series is fitted and forecast on its
    own history (a local model per series). A series that was not in training
    cannot be forecast and is refused by name.
    """

    def __init__(self, forecaster: Any = None, series_column: str = "series") -> None:
        self.forecaster = forecaster
        self.series_column = series_column

    # the plan's settings live on the inner forecaster
    def __getattr__(self, name: str) -> Any:
        if name in (
            "time_column",
            "frequency",
            "horizon",
            "seasonal_period",
            "known_covariates",
            "lagged_covariates",
            "kind",
        ):
            inner = self.__dict__.get("forecaster")
            if inner is not None:
                return getattr(inner, name)
        raise AttributeError(name)

    def groups(self, x: Any) -> dict[Any, np.ndarray]:
        """Row positions of each series in ``x``."""
        ids = np.asarray(
            x.get_column(self.series_column)
            if isinstance(x, pl.DataFrame)
            else x[self.series_column]
        )
        return {s: np.flatnonzero(ids == s) for s in pd.unique(ids)}

    def model_for(self, series: Any) -> Forecaster:
        try:
            return self.models_[series]
        except KeyError:
            known = ", ".join(map(str, self.models_))
            raise ValueError(
                f"series '{series}' was not in the training data; known: {known}"
            ) from None

    def fit(self, x: Any, y: Any = None) -> PerSeries:
        y = np.asarray(y, dtype=float)
        self.models_ = {}
        for series, rows in self.groups(x).items():
            part = x[rows.tolist()] if isinstance(x, pl.DataFrame) else x.iloc[rows]
            self.models_[series] = clone(self.forecaster).fit(part, y[rows])
        return self

    def _each(self, x: Any, call: Any, width: int = 1) -> np.ndarray:
        out = np.full((len(x), width), np.nan)
        for series, rows in self.groups(x).items():
            part = x[rows.tolist()] if isinstance(x, pl.DataFrame) else x.iloc[rows]
            out[rows] = np.column_stack(call(self.model_for(series), part))
        return out if width > 1 else out[:, 0]

    def predict_with_interval(
        self, x: Any, level: float = 0.9
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        every = self._each(
            x, lambda model, part: model.predict_with_interval(part, level), width=4
        )
        return every[:, 0], every[:, 1], every[:, 2], every[:, 3].astype(int)

    def predict(self, x: Any) -> np.ndarray:
        return self.predict_with_interval(x)[0]

    def interval(self, x: Any, level: float = 0.9) -> tuple[np.ndarray, np.ndarray]:
        _, lower, upper, _ = self.predict_with_interval(x, level)
        return lower, upper

    @property
    def history_end(self) -> pd.Timestamp:
        return max(m.history_times_[-1] for m in self.models_.values())
