"""Regression."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
from sklearn.dummy import DummyRegressor
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import Pipeline

from model_training.lib.plan import ModelingPlan
from model_training.lib.preprocessing import make_preprocessor
from model_training.lib.problems.base import ModelSpec, ProblemType


class Regression(ProblemType):
    """A numeric target."""

    name = "regression"

    def baselines(self, plan: ModelingPlan, seed: int) -> list[ModelSpec]:
        return [
            ModelSpec(
                "mean",
                DummyRegressor(strategy="mean"),
                "always predicts the training mean",
            ),
            ModelSpec(
                "median",
                DummyRegressor(strategy="median"),
                "always predicts the training median",
            ),
            ModelSpec(
                "linear_regression",
                Pipeline(
                    [
                        ("preprocess", make_preprocessor(plan)),
                        ("model", LinearRegression()),
                    ]
                ),
                "ordinary least squares on imputed, scaled, one-hot features",
            ),
        ]

    def fit(self, estimator: Any, x: pl.DataFrame, y: np.ndarray) -> Any:
        return estimator.fit(x, y.astype(float))

    def predict(
        self, model: Any, x: pl.DataFrame, plan: ModelingPlan
    ) -> tuple[np.ndarray, np.ndarray | None]:
        return np.asarray(model.predict(x), dtype=float), None
