"""Explanations through scikit-learn's inspection tools, checked against the
figures the stage's own loops gave on the same fixture before the switch."""

from __future__ import annotations

import pytest

from model_training.lib.algorithms.registry import algorithm, build_pipeline
from model_training.lib.assessment import inspection
from model_training.lib.core.frames import split_xy
from model_training.lib.problems import get_problem

# figures of the hand-written loops (main before the switch), same fixture and seed
PREVIOUS_PERMUTATION = {  # feature: (mean, std) of the ROC-AUC drop, 20 repeats
    "a": (0.2763, 0.0693),
    "b": (0.2511, 0.0555),
    "noise": (-0.0193, 0.0202),
    "colour": (-0.0379, 0.0323),
}
PREVIOUS_PARTIAL_DEPENDENCE = {
    "a": [0.551, 0.4493, 0.4743, 0.4273, 0.57],
    "b": [0.682, 0.5727, 0.4247, 0.374, 0.366],
    "noise": [0.5007, 0.458, 0.404, 0.428, 0.5463],
    "colour": [0.3673, 0.497, 0.5167],
}


@pytest.fixture(scope="module")
def fitted():
    from tests.conftest import xor_setup

    parts, _, _, plan = xor_setup.__wrapped__()
    problem = get_problem(plan.spec.problem_type)
    x, y = split_xy(parts["train"], plan)
    x_test, y_test = split_xy(parts["test"], plan)
    pipeline = build_pipeline(
        plan, algorithm("classification", "random_forest"), {"n_estimators": 50}, 0
    )
    return problem.fit(pipeline, x, y), x_test, y_test, plan, problem


def test_partial_dependence_equals_the_previous_figures(fitted):
    model, x_test, _, plan, problem = fitted
    result = inspection.partial_dependence(
        model,
        x_test,
        plan,
        plan.features,
        lambda m, f: problem.output(m, f, plan),
        5,
    )
    for feature, previous in PREVIOUS_PARTIAL_DEPENDENCE.items():
        assert result[feature]["average_output"] == pytest.approx(previous, abs=1e-4)
    assert result["colour"]["kind"] == "categorical"
    assert result["colour"]["grid"] == ["green", "red", "blue"]  # most frequent first


def test_permutation_importance_agrees_with_the_previous_figures(fitted):
    """Same statistic, other random permutations: each mean lies within two
    standard deviations of the previous one, and the ranking of the informative
    features over the noise is the same."""
    model, x_test, y_test, plan, problem = fitted
    result = inspection.permutation_importance(
        model, x_test, y_test, plan, lambda m, f: problem.predict(m, f, plan), 20, 0
    )
    for feature, (mean, std) in PREVIOUS_PERMUTATION.items():
        assert abs(result[feature]["mean"] - mean) < 2 * std
    assert set(list(result)[:2]) == {"a", "b"}
    again = inspection.permutation_importance(
        model, x_test, y_test, plan, lambda m, f: problem.predict(m, f, plan), 20, 0
    )
    assert again == result  # seeded
