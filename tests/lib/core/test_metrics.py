"""The metric registry."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn import metrics as skm

from model_training.lib.core import metrics as registry
from model_training.lib.core.metrics import (
    canonical,
    compute_metrics,
    is_better,
    metrics_for,
)

CONTEXT = {
    "classes": ["good", "bad"],
    "positive_class": "bad",
    "cost_matrix": {"labels": ["good", "bad"], "costs": [[0, 1], [5, 0]]},
}


def test_binary_metrics_match_scikit_learn():
    y = np.array(["good", "bad", "bad", "good", "good", "bad"])
    p_bad = np.array([0.1, 0.8, 0.4, 0.3, 0.6, 0.9])
    scores = np.column_stack([1 - p_bad, p_bad])  # columns in CONTEXT["classes"] order
    pred = np.where(p_bad > 0.5, "bad", "good")
    out = compute_metrics(
        ["roc_auc", "log_loss", "f1", "brier_loss"], y, pred, scores, CONTEXT
    )
    truth = (y == "bad").astype(int)
    assert out["roc_auc"] == pytest.approx(skm.roc_auc_score(truth, p_bad))
    # log loss with the classes not in sorted order must still pair columns correctly
    assert out["log_loss"] == pytest.approx(skm.log_loss(truth, p_bad))
    assert out["f1"] == pytest.approx(skm.f1_score(y, pred, pos_label="bad"))
    assert out["brier_loss"] == pytest.approx(skm.brier_score_loss(truth, p_bad))


def test_expected_cost_uses_the_matrix():
    y = np.array(["good", "bad", "bad", "good"])
    pred = np.array(
        ["bad", "good", "bad", "good"]
    )  # one good rejected (1), one bad accepted (5)
    out = compute_metrics(["expected_cost"], y, pred, None, CONTEXT)
    assert out["expected_cost"] == pytest.approx((1 + 5) / 4)


def test_score_metrics_are_nan_without_scores():
    out = compute_metrics(
        ["roc_auc", "accuracy"],
        np.array(["good", "bad"]),
        np.array(["good", "bad"]),
        None,
        CONTEXT,
    )
    assert math.isnan(out["roc_auc"])
    assert out["accuracy"] == 1.0


def test_mape_ignores_zero_targets():
    y = np.array([0.0, 10.0, 20.0])
    pred = np.array([5.0, 11.0, 18.0])
    out = compute_metrics(["mean_absolute_percentage_error"], y, pred, None, {})
    assert out["mean_absolute_percentage_error"] == pytest.approx((0.1 + 0.1) / 2)


def test_multiclass_auc_and_registry():
    assert "roc_auc" not in metrics_for("multiclass_classification")
    assert "roc_auc_ovr" in metrics_for("multiclass_classification")
    assert canonical("rmse") == "root_mean_squared_error"
    y = np.array(["b", "a", "c", "a", "b", "c"])
    classes = ["c", "a", "b"]  # deliberately unsorted
    rng = np.random.default_rng(0)
    scores = rng.dirichlet([1, 1, 1], size=6)
    out = compute_metrics(
        ["roc_auc_ovr", "log_loss"], y, y, scores, {"classes": classes}
    )
    order = [1, 2, 0]  # sorted a, b, c
    assert out["roc_auc_ovr"] == pytest.approx(
        skm.roc_auc_score(y, scores[:, order], multi_class="ovr")
    )
    assert out["log_loss"] == pytest.approx(
        skm.log_loss(y, scores[:, order], labels=["a", "b", "c"])
    )


def test_is_better_respects_direction():
    assert is_better("roc_auc", 0.8, 0.7)
    assert not is_better("log_loss", 0.8, 0.7)
    assert is_better("log_loss", 0.6, 0.7)
    assert not is_better("roc_auc", float("nan"), 0.5)


@pytest.mark.parametrize(
    ("problem_type", "classes"),
    [
        ("binary_classification", ["good", "bad"]),
        ("multiclass_classification", ["setosa", "virginica", "versicolor"]),
    ],
)
def test_large_sets_compare_class_positions_with_the_same_values(
    problem_type, classes, monkeypatch
):
    # above CODED_ABOVE_ROWS rows, labels become their positions in the
    # classes (a speed-up only): every metric keeps its value
    rng = np.random.default_rng(3)
    n = registry.CODED_ABOVE_ROWS + 500
    scores = rng.dirichlet(np.ones(len(classes)), n)
    truth = np.array(classes)[
        [rng.choice(len(classes), p=row) for row in 0.5 * scores + 0.5 / len(classes)]
    ]
    pred = np.array(classes)[scores.argmax(axis=1)]
    context = {"classes": classes, "positive_class": classes[-1]}
    if len(classes) == 2:
        context["cost_matrix"] = {"labels": ["bad", "good"], "costs": [[0, 5], [1, 0]]}
    names = metrics_for(problem_type)
    coded = compute_metrics(names, truth, pred, scores, context)
    monkeypatch.setattr(registry, "CODED_ABOVE_ROWS", 10**9)
    plain = compute_metrics(names, truth, pred, scores, context)
    assert set(coded) == set(plain) and len(coded) >= 7
    for name in names:
        assert coded[name] == pytest.approx(plain[name], abs=1e-12, nan_ok=True), name
