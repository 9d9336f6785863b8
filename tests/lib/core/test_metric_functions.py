"""The stage's own metrics, each against a hand computation."""

from __future__ import annotations

import numpy as np
import pytest

from model_training.lib.core import metric_functions as mf

ANOMALY = {"classes": None, "positive_class": "anomaly", "contamination": 0.25}


def test_false_positive_rate_and_flag_rate_gap():
    truth = np.array(["normal", "normal", "normal", "anomaly"], dtype=object)
    flagged = np.array(["anomaly", "normal", "normal", "anomaly"], dtype=object)
    assert mf.false_positive_rate(truth, flagged, None, ANOMALY) == pytest.approx(1 / 3)
    # half the rows flagged against an expected quarter
    assert mf.flag_rate_gap(None, flagged, None, ANOMALY) == pytest.approx(0.25)
    assert np.isnan(
        mf.flag_rate_gap(None, flagged, None, {"positive_class": "anomaly"})
    )


def test_forecast_errors():
    truth, pred = np.array([10.0, 12.0, 11.0]), np.array([11.0, 12.0, 13.0])
    assert mf.smape(truth, pred, None, {}) == pytest.approx(
        np.mean([2 / 21, 0.0, 4 / 24])
    )
    assert mf.mase(truth, pred, None, {"mase_scale": 2.0}) == pytest.approx(0.5)
    assert np.isnan(mf.mase(truth, pred, None, {"mase_scale": None}))
    # moves from the previous actual: +2 forecast +2 (same way), -1 forecast +1
    assert mf.directional_accuracy(truth, pred, None, {}) == pytest.approx(0.5)
    bounds = np.array([[9.0, 11.0], [12.5, 13.0], [10.0, 12.0]])
    assert mf.interval_coverage(truth, None, bounds, {}) == pytest.approx(2 / 3)


def test_expected_cost_and_safe_mape():
    context = {"cost_matrix": {"labels": ["no", "yes"], "costs": [[0, 1], [5, 0]]}}
    truth = np.array(["yes", "no", "yes", "no"], dtype=object)
    pred = np.array(["no", "yes", "yes", "no"], dtype=object)
    assert mf.expected_cost(truth, pred, None, context) == pytest.approx(6 / 4)
    assert mf.safe_mape(np.array([0.0, 2.0]), np.array([1.0, 1.0]), None, {}) == 0.5
    assert np.isnan(mf.safe_mape(np.zeros(2), np.ones(2), None, {}))


def test_clustering_needs_two_clusters_and_ignores_noise():
    embedding = np.array([[0.0], [0.1], [5.0], [5.1], [9.0]])
    data, labels = mf.clustered(np.array([0, 0, 1, 1, -1]), embedding)
    assert len(data) == 4 and set(labels) == {0, 1}
    with pytest.raises(ValueError, match="fewer than two clusters"):
        mf.clustered(np.array([0, 0, 0, -1, -1]), embedding)


def test_multiclass_scores_follow_the_sorted_labels():
    context = {"classes": ["c", "a", "b"]}
    scores = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.2, 0.1, 0.7]])
    truth = np.array(["c", "a", "b"], dtype=object)
    assert mf.multiclass_auc(truth, None, scores, context) == pytest.approx(1.0)
    assert mf.log_loss(truth, None, scores, context) == pytest.approx(
        -np.mean(np.log([0.7, 0.8, 0.7]))
    )
    assert np.isnan(mf.multiclass_auc(truth[:2], None, scores[:2], context))


def test_rank_roc_auc_equals_scikit_learn_with_ties_and_refuses_what_it_refuses():
    from sklearn.metrics import roc_auc_score

    from model_training.lib.core.metric_functions import rank_roc_auc

    rng = np.random.default_rng(0)
    for n in (2, 7, 160, 1000):
        truth = rng.integers(0, 2, n)
        truth[:2] = [0, 1]
        for score in (rng.random(n), rng.integers(0, 4, n) / 4.0):  # ties
            assert rank_roc_auc(truth, score) == pytest.approx(
                roc_auc_score(truth, score), abs=1e-12
            )
    with pytest.raises(ValueError):
        rank_roc_auc(np.array([1, 1, 1]), np.array([0.1, 0.2, 0.3]))
    with pytest.raises(ValueError):
        rank_roc_auc(np.array([0, 1, 1]), np.array([0.1, np.nan, 0.3]))


def test_mase_of_no_forecast_is_nan_without_numpy_warnings():
    """A learning-curve point whose folds had no forecast with enough history
    (a 30-series panel at 20 % of its rows) printed NumPy's "Mean of empty
    slice" into the run's log."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(mf.mase(np.array([]), np.array([]), None, {"mase_scale": 2.0}))


def test_pr_auc_without_a_positive_row_is_nan_not_zero():
    """scikit-learn answers 0 (with a warning) when no row is positive: a
    test slice of normal rows then looked like the weakest slice."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(mf.pr_auc(np.array([0, 0, 0]), np.array([0.1, 0.5, 0.9])))
    assert mf.pr_auc(np.array([0, 1, 1]), np.array([0.1, 0.5, 0.9])) == 1.0
