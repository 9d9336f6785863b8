"""Candidate pipelines: every algorithm fits; imbalance and selection stay inside the folds."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from model_training.lib.algorithms.cv import cv_splits
from model_training.lib.algorithms.cv_eval import fold_scores
from model_training.lib.algorithms.registry import (
    algorithm,
    build_pipeline,
    fit_params,
)
from model_training.lib.core.frames import split_xy
from model_training.lib.problems import get_problem

SMALL = {
    "random_forest": {"n_estimators": 20},
    "catboost": {"iterations": 20, "depth": 3},
    "hist_gradient_boosting": {"max_iter": 20},
    "mlp": {"hidden_layer_sizes": "8", "max_iter": 200},
}


def test_resampler_only_sees_training_fold_rows(xor_setup, monkeypatch):
    """SMOTE inside the pipeline gets exactly the training rows of each fold, never validation rows."""
    from imblearn.over_sampling import SMOTE

    parts, _, _, plan = xor_setup
    x, y = split_xy(parts["train"], plan)
    seen: list[np.ndarray] = []
    original = SMOTE.fit_resample

    def spy(self, features, target):
        seen.append(np.asarray(features)[:, :2].copy())  # a and b, scaled
        return original(self, features, target)

    monkeypatch.setattr(SMOTE, "fit_resample", spy)
    splits = cv_splits(parts["train"], y, plan, seed=0)
    pipeline = build_pipeline(
        plan,
        algorithm("classification", "logistic_regression"),
        {},
        0,
        imbalance="smote",
    )
    problem = get_problem(plan.spec.problem_type)
    fold_scores(
        pipeline,
        x,
        y,
        splits,
        plan,
        lambda m, r: problem.predict(m, r, plan),
        lambda _y: {},
    )
    assert len(seen) == len(splits)
    for (train_rows, valid_rows), rows in zip(splits, seen, strict=True):
        assert rows.shape[0] == len(train_rows)  # no validation row reached the sampler
        assert len(valid_rows) > 0


def test_cost_sensitive_weights_follow_the_cost_matrix(xor_setup):
    _, _, _, plan = xor_setup
    y = np.array(["no", "yes", "yes", "no"])
    weights = fit_params(plan, "cost_sensitive", y)["model__sample_weight"]
    assert weights[1] / weights[0] == pytest.approx(
        3.0
    )  # a missed "yes" costs 3, a false alarm 1
    assert fit_params(plan, "class_weight", y) == {}


def test_imbalance_options_per_algorithm():
    assert "smote" not in algorithm("classification", "catboost").imbalance_options(
        True
    )
    assert "class_weight" not in algorithm("classification", "mlp").imbalance_options(
        False
    )
    assert "balanced_rf" in algorithm(
        "classification", "random_forest"
    ).imbalance_options(False)
    assert "cost_sensitive" not in algorithm(
        "classification", "random_forest"
    ).imbalance_options(False)


def test_unknown_algorithm_is_named():
    with pytest.raises(
        ValueError, match="unknown classification algorithm 'xgboost'; available: "
    ):
        algorithm("classification", "xgboost")


@pytest.mark.parametrize("name", ["catboost", "logistic_regression"])
def test_missing_categories_are_handled_for_polars_and_pandas(name, xor_setup):
    parts, _, _, plan = xor_setup
    x, y = split_xy(parts["train"], plan)
    holes = x.with_columns(
        pl.when(pl.int_range(pl.len()) % 5 == 0)
        .then(None)
        .otherwise(pl.col("colour"))
        .alias("colour")
    )
    model = build_pipeline(
        plan, algorithm("classification", name), SMALL.get(name, {}), 0
    ).fit(holes, y)
    from_polars = model.predict_proba(holes[:30])
    from_pandas = model.predict_proba(holes[:30].to_pandas())
    assert np.allclose(from_polars, from_pandas)
