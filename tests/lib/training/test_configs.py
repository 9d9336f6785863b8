"""A contender's configuration: the tuned parameters over the defaults, the
learned iteration count carried to the refit's rows, and its pipeline."""

from __future__ import annotations

import numpy as np

from model_training.lib.algorithms.ensemble import EnsembleClassifier
from model_training.lib.training.configs import (
    config_fit_params,
    configuration,
    pipeline_for,
)
from tests.conftest import conf_params


def test_the_best_trial_overrides_the_defaults_and_the_imbalance_is_apart():
    entry = {
        "model": "catboost",
        "params": {"depth": 4, "imbalance": "class_weight"},
        "learned_iterations": {
            "param": "iterations",
            "per_fold": [100, 140],
            "inner_rows": 400,
        },
    }
    defaults = {"catboost": {"iterations": 300, "depth": 6, "learning_rate": 0.05}}
    config = configuration(entry, defaults, n_rows=600)
    assert config["model"] == "catboost"
    assert config["imbalance"] == "class_weight"
    # the folds' mean (120) scaled by 600 / 400 rows; the rest from the defaults
    assert config["params"] == {"iterations": 180, "depth": 4, "learning_rate": 0.05}
    # without the refit's rows the trial's own count stands
    assert configuration(entry, defaults)["params"]["iterations"] == 300


def test_an_ensemble_configuration_builds_its_members_with_their_fit_keywords(
    xor_setup,
):
    _, _, _, plan = xor_setup
    options = conf_params("tuning", {"storage": None})
    members = [
        {
            "model": "logistic_regression",
            "params": {},
            "imbalance": "none",
            "weight": 0.5,
        },
        {
            "model": "random_forest",
            "params": {"n_estimators": 10},
            "imbalance": "cost_sensitive",
            "weight": 0.5,
        },
    ]
    config = {
        "model": "ensemble",
        "params": {},
        "imbalance": "none",
        "members": members,
    }
    pipeline = pipeline_for(plan, config, options, seed=0)
    assert isinstance(pipeline, EnsembleClassifier)
    assert pipeline.names == ["logistic_regression", "random_forest"]
    y = np.array(["no", "yes", "yes", "no"])
    keywords = config_fit_params(plan, config, y)["member_fit_params"]
    assert keywords[0] == {}
    # the cost-sensitive member weighs its rows by the cost matrix
    assert any(np.ndim(v) == 1 for v in keywords[1].values())
