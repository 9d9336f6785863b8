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


class _CountingClassifier:
    """A fitted binary classifier that counts how often it scores rows."""

    classes_ = np.array(["no", "yes"])

    def __init__(self, proba):
        self.proba, self.calls = np.asarray(proba), 0

    def predict_proba(self, x):
        self.calls += 1
        return self.proba

    def predict(self, x):
        return self.classes_[np.argmax(self.predict_proba(x), axis=1)]


def test_a_wrapped_final_model_scores_the_rows_once(xor_setup):
    """The final model's wrappers (threshold, calibration, ensemble) give their
    labels from the same probabilities: predictions equal ``predict``'s, and
    the rows are scored once, not twice. A bare estimator keeps its own
    ``predict`` (an SVM's labels need not follow its probabilities)."""
    from model_training.lib.algorithms.final_model import (
        CalibratedModel,
        ThresholdedClassifier,
    )

    plan = xor_setup[3]
    problem = get_problem("binary_classification")
    proba = [[0.8, 0.2], [0.65, 0.35], [0.1, 0.9]]
    inner = _CountingClassifier(proba)
    wrapped = ThresholdedClassifier(inner, 0.3, "yes")
    y_pred, scores = problem.predict(wrapped, [0, 1, 2], plan)
    assert y_pred.tolist() == wrapped.predict(None).tolist() == ["no", "yes", "yes"]
    assert inner.calls == 2  # once by problem.predict, once by the check above
    np.testing.assert_allclose(scores[:, 1], [0.2, 0.35, 0.9])

    inner = _CountingClassifier(proba)
    calibrated = CalibratedModel(inner, [_Identity()], ["no", "yes"], "sigmoid")
    y_pred, _ = problem.predict(calibrated, [0, 1, 2], plan)
    assert inner.calls == 1
    assert y_pred.tolist() == calibrated.predict(None).tolist()

    inner = _CountingClassifier(proba)
    bare_pred, _ = problem.predict(inner, [0, 1, 2], plan)
    assert bare_pred.tolist() == ["no", "no", "yes"]
    assert inner.calls == 2  # predict and predict_proba, each its own


class _Identity:
    """A calibrator that keeps the scores (given as logits)."""

    def predict_proba(self, logits):
        p = 1 / (1 + np.exp(-np.asarray(logits)[:, 0]))
        return np.column_stack([1 - p, p])
