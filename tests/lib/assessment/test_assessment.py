"""Shared fixtures of the assessment tests, and the bootstrap's bracketing check."""

from __future__ import annotations

import numpy as np
from sklearn import metrics as skm

from model_training.lib.assessment.bootstrap import bootstrap_ci
from model_training.lib.core.plan import ModelingPlan
from model_training.lib.core.spec import ModelingSpec


def binary_plan(**spec) -> ModelingPlan:
    fields = {
        "epic_id": "x",
        "problem_type": "binary_classification",
        "target": "y",
        "positive_class": "bad",
        "primary_metric": "roc_auc",
        "cost_matrix": {"labels": ["good", "bad"], "costs": [[0, 1], [5, 0]]},
        **spec,
    }
    return ModelingPlan(
        spec=ModelingSpec(**fields),
        numeric_features=["age"],
        categorical_features=["sex"],
        classes=["good", "bad"],
        cv_strategy="stratified_kfold",
        greater_is_better=True,
    )


def test_bootstrap_interval_brackets_the_estimate():
    plan = binary_plan()
    rng = np.random.default_rng(0)
    truth = rng.random(400) < 0.3
    p_bad = np.clip(truth * 0.3 + rng.random(400) * 0.7, 0, 1)
    y = np.where(truth, "bad", "good").astype(object)
    scores = np.column_stack([1 - p_bad, p_bad])
    ci = bootstrap_ci(
        ["roc_auc"], y, np.where(p_bad > 0.5, "bad", "good"), scores, plan, 200, 0
    )["roc_auc"]
    point = skm.roc_auc_score(truth, p_bad)
    assert ci["low"] < point < ci["high"]
    assert 0.02 < ci["high"] - ci["low"] < 0.2
