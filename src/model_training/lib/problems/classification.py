"""Binary and multiclass classification."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from model_training.lib.plan import ModelingPlan
from model_training.lib.preprocessing import make_preprocessor
from model_training.lib.problems.base import ModelSpec, ProblemType


class _Classification(ProblemType):
    def baselines(self, plan: ModelingPlan, seed: int) -> list[ModelSpec]:
        return [
            ModelSpec(
                "majority_class",
                DummyClassifier(strategy="most_frequent"),
                "always predicts the most common training class",
            ),
            ModelSpec(
                "stratified_random",
                DummyClassifier(strategy="stratified", random_state=seed),
                "predicts classes at random in their training proportions",
            ),
            ModelSpec(
                "logistic_regression",
                Pipeline(
                    [
                        ("preprocess", make_preprocessor(plan)),
                        ("model", LogisticRegression(max_iter=2000, random_state=seed)),
                    ]
                ),
                "untuned logistic regression on imputed, scaled, one-hot features",
            ),
        ]

    def predict(
        self, model: Any, x: pl.DataFrame, plan: ModelingPlan
    ) -> tuple[np.ndarray, np.ndarray | None]:
        y_pred = np.asarray(model.predict(x))
        if not hasattr(model, "predict_proba"):
            return y_pred, None
        proba = np.asarray(model.predict_proba(x))
        fitted = [str(c) for c in model.classes_]
        order = [
            fitted.index(str(c)) if str(c) in fitted else -1 for c in plan.classes or []
        ]
        scores = np.zeros((len(x), len(order)))
        for j, i in enumerate(order):
            if i >= 0:
                scores[:, j] = proba[:, i]
        return y_pred, scores


class BinaryClassification(_Classification):
    """Two classes; the spec's ``positive_class`` is the class of interest."""

    name = "binary_classification"


class MulticlassClassification(_Classification):
    """Three or more classes."""

    name = "multiclass_classification"
