"""Classification: baselines, the cost threshold, the card's output line."""

from __future__ import annotations

import numpy as np
import pytest

from model_training.lib.core.frames import split_xy
from model_training.lib.problems import get_problem


def test_baselines_are_trivial_and_one_real_model(xor_setup):
    plan = xor_setup[3]
    specs = get_problem("binary_classification").baselines(plan, 0)
    assert [s.name for s in specs] == [
        "majority_class",
        "stratified_random",
        "logistic_regression",
    ]
    assert [s.algorithm for s in specs] == [None, None, "logistic_regression"]


def test_the_binary_threshold_minimises_expected_cost(xor_setup):
    """Costs 3 (a missed 'yes') to 1 (a false alarm): the threshold falls well
    below 0.5, and decisions follow it."""
    plan = xor_setup[3]
    problem = get_problem("binary_classification")
    rng = np.random.default_rng(0)
    truth = rng.random(400) < 0.4
    p_yes = np.clip(0.3 * truth + 0.7 * rng.random(400), 0, 1)
    scores = np.column_stack([1 - p_yes, p_yes])
    wrapped, decision, threshold = problem.decide(
        object(), scores, truth.astype(int), plan
    )
    assert threshold["threshold"] < 0.5
    assert "minimum expected cost" in threshold["chosen_by"]
    assert set(decision) <= {"yes", "no"}
    assert (decision == "yes").mean() == pytest.approx(
        (p_yes >= threshold["threshold"]).mean()
    )
    assert wrapped.threshold == threshold["threshold"]


def test_baselines_on_test_use_the_models_threshold(xor_setup):
    parts, _, _, plan = xor_setup
    problem = get_problem("binary_classification")
    x_fit, y_fit = split_xy(parts["train"], plan)
    x_test, y_test = split_xy(parts["test"], plan)
    strict = problem.reference_on_test(
        plan, 0, x_fit, y_fit, x_test, y_test, {"threshold": {"threshold": 0.99}}
    )
    lenient = problem.reference_on_test(
        plan, 0, x_fit, y_fit, x_test, y_test, {"threshold": {"threshold": 0.01}}
    )
    # the same scores, other decisions: ranking metrics agree, recall does not
    assert (
        strict["logistic_regression"]["roc_auc"]
        == lenient["logistic_regression"]["roc_auc"]
    )
    assert (
        strict["logistic_regression"]["recall"]
        < lenient["logistic_regression"]["recall"]
    )


def test_the_card_output_names_the_class_order():
    text = get_problem("multiclass_classification").card_output(["a", "b", "c"])
    assert "['a', 'b', 'c']" in text and "predict_proba" in text
