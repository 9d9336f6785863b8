"""Metrics of bootstrap resamples from row counts: the values of the metrics'
own functions, resample by resample, degenerate resamples included."""

from __future__ import annotations

import numpy as np
import pytest

from model_training.lib.assessment import resampled
from model_training.lib.assessment.resampled import counted_metrics
from model_training.lib.core.metrics import coded_labels, compute_metrics

BINARY = [
    "roc_auc",
    "pr_auc",
    "f1",
    "precision",
    "recall",
    "accuracy",
    "balanced_accuracy",
    "brier_loss",
    "log_loss",
    "expected_cost",
    "f1_macro",
    "f1_weighted",
]


def _one_by_one(names, rows, y, pred, score, context):
    return {
        name: np.array(
            [
                compute_metrics(
                    [name], y[r], pred[r], None if score is None else score[r], context
                )[name]
                for r in rows
            ]
        )
        for name in names
    }


def _same(fast, slow, names):
    assert sorted(fast) == sorted(names)
    for name in names:
        np.testing.assert_allclose(
            fast[name], slow[name], rtol=1e-10, atol=1e-12, equal_nan=True
        )


def _binary(n, seed):
    """Text labels, a positive class that sorts first, scores rounded so that
    many tie, a cost matrix listed in another order."""
    rng = np.random.default_rng(seed)
    y = rng.choice(np.array(["good", "bad"], dtype=object), n, p=[0.75, 0.25])
    p_bad = np.round(np.clip(0.3 * (y == "bad") + 0.7 * rng.random(n), 0, 1), 1)
    context = {
        "classes": ["bad", "good"],
        "positive_class": "bad",
        "cost_matrix": {"labels": ["good", "bad"], "costs": [[0, 1], [5, 0]]},
    }
    pred = np.where(p_bad > 0.5, "bad", "good").astype(object)
    return y, pred, np.column_stack([p_bad, 1 - p_bad]), context


def test_binary_metrics_equal_their_functions_on_every_resample():
    y, pred, score, context = _binary(60, 0)
    y, pred, context = coded_labels(y, pred, context)
    rows = np.random.default_rng(1).integers(0, len(y), (60, len(y)))
    fast = counted_metrics(BINARY, rows, y, pred, score, context)
    _same(fast, _one_by_one(BINARY, rows, y, pred, score, context), BINARY)


def test_degenerate_resamples_get_their_functions_values():
    """On six rows with one positive, many resamples hold no positive: ROC-AUC
    and average precision are NaN there, as the functions give them."""
    y, pred, score, context = _binary(6, 2)
    y = np.array(["bad", "good", "good", "good", "good", "good"], dtype=object)
    y, pred, context = coded_labels(y, pred, context)
    rows = np.random.default_rng(3).integers(0, len(y), (60, len(y)))
    fast = counted_metrics(BINARY, rows, y, pred, score, context)
    assert np.isnan(fast["roc_auc"]).sum() > 8
    _same(fast, _one_by_one(BINARY, rows, y, pred, score, context), BINARY)


def test_multiclass_metrics_with_integer_classes_out_of_order():
    rng = np.random.default_rng(4)
    classes = [3, 1, 0, 2]
    y = rng.choice(classes, 80)
    score = rng.dirichlet(np.ones(4), 80)
    pred = np.asarray(classes)[score.argmax(axis=1)]
    y, pred, context = coded_labels(y, pred, {"classes": classes})
    names = ["accuracy", "balanced_accuracy", "f1_macro", "f1_weighted", "log_loss"]
    rows = rng.integers(0, 80, (60, 80))
    fast = counted_metrics([*names, "roc_auc_ovr"], rows, y, pred, score, context)
    # one-against-rest ROC-AUC has no formula here: the caller scores it
    assert "roc_auc_ovr" not in fast
    _same(fast, _one_by_one(names, rows, y, pred, score, context), names)


def test_regression_metrics_far_from_zero_and_a_constant_resample():
    rng = np.random.default_rng(5)
    y = rng.normal(1e4, 1.0, 40)
    y[:2] = 1e4  # a resample of the first two rows only has no variance
    pred = y + rng.normal(0, 0.5, 40)
    names = [
        "r2",
        "mean_absolute_error",
        "mean_squared_error",
        "root_mean_squared_error",
    ]
    rows = np.vstack([rng.integers(0, 40, (200, 40)), np.tile([0, 1], 20)[None, :]])
    fast = counted_metrics(names, rows, y, pred, None, {})
    _same(fast, _one_by_one(names, rows, y, pred, None, {}), names)


def test_batches_do_not_change_the_values(monkeypatch):
    y, pred, score, context = _binary(50, 6)
    y, pred, context = coded_labels(y, pred, context)
    rows = np.random.default_rng(7).integers(0, 50, (120, 50))
    whole = counted_metrics(BINARY, rows, y, pred, score, context)
    monkeypatch.setattr(resampled, "BATCH_CELLS", 50 * 7)  # 7 resamples a batch
    batched = counted_metrics(BINARY, rows, y, pred, score, context)
    for name in BINARY:
        np.testing.assert_array_equal(whole[name], batched[name])


def test_text_labels_and_a_formula_that_disagrees_are_left_to_the_caller(
    monkeypatch,
):
    y, pred, score, context = _binary(40, 8)
    rows = np.random.default_rng(9).integers(0, 40, (20, 40))
    # uncoded text labels: no formula applies (they need class positions)
    fast = counted_metrics(["accuracy", "f1", "roc_auc"], rows, y, pred, score, context)
    assert sorted(fast) == []
    y, pred, context = coded_labels(y, pred, context)

    def wrong(batch):
        values, _ = resampled._accuracy(batch)
        return values + 0.01, None

    monkeypatch.setitem(resampled.FORMULAS, "accuracy", wrong)
    fast = counted_metrics(["accuracy", "f1"], rows, y, pred, score, context)
    assert sorted(fast) == ["f1"]


def test_bootstrap_intervals_are_those_of_the_functions(monkeypatch):
    """The intervals the stage reports, with the formulas and without them."""
    from model_training.lib.assessment.bootstrap import bootstrap_ci
    from tests.conftest import xor_setup

    plan = xor_setup.__wrapped__()[3]
    rng = np.random.default_rng(0)
    y = np.where(rng.random(150) < 0.4, "yes", "no").astype(object)
    p_yes = np.round(np.clip(0.35 * (y == "yes") + rng.random(150) * 0.65, 0, 1), 2)
    scores = np.column_stack([1 - p_yes, p_yes])
    pred = np.where(p_yes > 0.5, "yes", "no").astype(object)
    names = ["roc_auc", "pr_auc", "f1", "accuracy", "log_loss", "brier_loss"]
    fast = bootstrap_ci(names, y, pred, scores, plan, 80, 0)
    monkeypatch.setattr(resampled, "FORMULAS", {})
    slow = bootstrap_ci(names, y, pred, scores, plan, 80, 0)
    for name in names:
        assert fast[name]["method"] == slow[name]["method"] == "BCa"
        assert fast[name]["low"] == pytest.approx(slow[name]["low"], abs=1e-9)
        assert fast[name]["high"] == pytest.approx(slow[name]["high"], abs=1e-9)


ANOMALY = ["pr_auc", "roc_auc", "f1", "precision", "recall", "false_positive_rate"]


def _flagged(n, seed):
    """An anomaly detector's test rows: text labels, one-dimensional scores,
    a context that names the flagged label but no classes."""
    rng = np.random.default_rng(seed)
    y = np.where(rng.random(n) < 0.1, "attack", "normal").astype(object)
    score = np.round(0.5 * (y == "attack") + 0.6 * rng.random(n), 2)
    pred = np.where(score > 0.55, "attack", "normal").astype(object)
    return y, pred, score, {"classes": None, "positive_class": "attack"}


def test_anomaly_labels_are_coded_and_counted_like_two_classes():
    """1,000 resamples of 300 rows had been scored one by one (18 s)."""
    y, pred, score, context = _flagged(80, 3)
    coded_y, coded_pred, coded = coded_labels(y, pred, context)
    assert coded["classes"] == [0, 1] and coded["positive_class"] == 1
    assert np.array_equal(coded_y, (y == "attack").astype(int))
    rows = np.random.default_rng(4).integers(0, 80, (40, 80))
    fast = counted_metrics(ANOMALY, rows, coded_y, coded_pred, score, coded)
    _same(fast, _one_by_one(ANOMALY, rows, y, pred, score, context), ANOMALY)
    third = np.where(np.arange(80) == 0, "scan", y).astype(object)
    assert coded_labels(third, pred, context)[2] is context  # not two labels


def test_anomaly_bootstrap_intervals_are_those_of_the_functions(monkeypatch):
    from model_training.lib.assessment.bootstrap import bootstrap_ci
    from tests.conftest import xor_setup

    plan = xor_setup.__wrapped__()[3]
    plan = plan.model_copy(
        update={
            "spec": plan.spec.model_copy(
                update={
                    "problem_type": "anomaly_detection",
                    "positive_class": "attack",
                    "cost_matrix": None,
                }
            ),
            "classes": None,
        }
    )
    assert plan.metric_context["classes"] is None
    y, pred, score, _ = _flagged(150, 5)
    fast = bootstrap_ci(ANOMALY, y, pred, score, plan, 80, 0)
    monkeypatch.setattr(resampled, "FORMULAS", {})
    slow = bootstrap_ci(ANOMALY, y, pred, score, plan, 80, 0)
    for name in ANOMALY:
        assert fast[name]["low"] == pytest.approx(slow[name]["low"], abs=1e-9)
        assert fast[name]["high"] == pytest.approx(slow[name]["high"], abs=1e-9)
