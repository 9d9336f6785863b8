"""Regression: baselines, numeric targets, residual details."""

from __future__ import annotations

import numpy as np

from model_training.lib.problems import get_problem


def test_baselines_mean_median_and_least_squares(xor_setup):
    specs = get_problem("regression").baselines(xor_setup[3], 0)
    assert [s.name for s in specs] == ["mean", "median", "linear_regression"]
    assert specs[-1].algorithm == "linear_regression"


def test_the_target_is_numeric_and_the_card_says_what_predict_gives():
    problem = get_problem("regression")
    assert problem.target(np.array(["1.5", "2"], dtype=object)).dtype == float
    assert problem.card_output(None) == "`predict` gives the predicted value."
