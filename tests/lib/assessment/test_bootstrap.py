"""Test-set confidence intervals: scipy's bootstrap, checked against the
intervals of the stage's previous percentile loop."""

from __future__ import annotations

import numpy as np
import pytest

from model_training.lib.assessment.bootstrap import bootstrap_ci

# intervals of the stage's own percentile loop (main before scipy), same fixture
PREVIOUS_INTERVALS = {
    "roc_auc": (0.8634, 0.9325),
    "accuracy": (0.7133, 0.8067),
    "f1": (0.6207, 0.7529),
    "log_loss": (0.4142, 0.4765),
}


def _scored_fixture():
    from tests.conftest import xor_setup

    plan = xor_setup.__wrapped__()[3]
    rng = np.random.default_rng(0)
    y = np.where(rng.random(300) < 0.4, "yes", "no").astype(object)
    p_yes = np.clip(0.35 * (y == "yes") + rng.random(300) * 0.65, 0, 1)
    scores = np.column_stack([1 - p_yes, p_yes])
    return plan, y, np.where(p_yes > 0.5, "yes", "no").astype(object), scores


def test_scipy_bootstrap_matches_the_previous_intervals():
    """scipy.stats.bootstrap (BCa) gives the intervals the percentile loop gave,
    within Monte Carlo noise and the BCa correction."""
    plan, y, pred, scores = _scored_fixture()
    ci = bootstrap_ci(list(PREVIOUS_INTERVALS), y, pred, scores, plan, 1000, 0)
    for name, (low, high) in PREVIOUS_INTERVALS.items():
        assert ci[name]["low"] == pytest.approx(low, abs=0.01)
        assert ci[name]["high"] == pytest.approx(high, abs=0.01)
        assert ci[name]["method"] == "BCa" and ci[name]["n_boot"] == 1000
    assert ci == bootstrap_ci(list(PREVIOUS_INTERVALS), y, pred, scores, plan, 1000, 0)


def test_above_the_bca_limit_the_percentile_method_is_used():
    from model_training.lib.assessment.bootstrap import BCA_MAX_ROWS

    plan, y, pred, scores = _scored_fixture()
    rows = np.arange(BCA_MAX_ROWS + 50) % len(y)
    ci = bootstrap_ci(["accuracy"], y[rows], pred[rows], scores[rows], plan, 100, 0)
    assert ci["accuracy"]["method"] == "percentile"
    assert ci["accuracy"]["low"] < ci["accuracy"]["high"]


def test_a_metric_undefined_on_some_resamples_uses_the_defined_ones():
    plan, y, pred, scores = _scored_fixture()
    rows = np.r_[np.flatnonzero(y == "yes")[:1], np.flatnonzero(y == "no")[:19]]
    ci = bootstrap_ci(
        ["roc_auc", "accuracy"], y[rows], pred[rows], scores[rows], plan, 200, 0
    )
    # about 1 - (19/20)^20 = 64 % of resamples hold the one positive row
    assert ci["roc_auc"]["method"].startswith("percentile (resamples where")
    assert 100 <= ci["roc_auc"]["n_boot"] < 200
    assert ci["accuracy"]["method"] == "BCa" and ci["accuracy"]["n_boot"] == 200


def test_a_biased_bootstrap_interval_is_widened_to_its_estimate(monkeypatch):
    """Whatever the metric, the reported interval holds the estimate and says
    when it had to be widened to."""
    from model_training.lib.assessment import bootstrap

    plan, y, pred, scores = _scored_fixture()
    monkeypatch.setattr(  # resamples score higher than the full sample
        bootstrap,
        "_scipy_intervals",
        lambda names, *args: {n: (0.6, 0.7, 50, "BCa") for n in names},
    )
    interval = bootstrap_ci(
        ["roc_auc"], y, pred, scores, plan, 50, 0, estimates={"roc_auc": 0.5}
    )["roc_auc"]
    assert interval["low"] == 0.5 and interval["high"] == 0.7
    assert "widened to include it" in interval["note"]


def test_the_resamples_scored_in_worker_processes_give_the_same_intervals(monkeypatch):
    """The resamples of metrics without a count formula are scored side by
    side on the run's threads; the intervals are exactly those of one process."""
    from model_training.lib.assessment import resampled
    from model_training.lib.core import threads

    monkeypatch.setattr(resampled, "FORMULAS", {})

    plan, y, pred, scores = _scored_fixture()
    names = ["roc_auc", "f1", "log_loss"]
    seen = []
    original = threads.in_workers

    def spy(func, tasks, workers):
        seen.append(workers)
        return original(func, tasks, workers)

    monkeypatch.setattr("model_training.lib.assessment.bootstrap.in_workers", spy)
    monkeypatch.setenv(threads.THREADS_ENV, "1")
    alone = bootstrap_ci(names, y, pred, scores, plan, 400, 3)
    assert set(seen) == {1}
    monkeypatch.setenv(threads.THREADS_ENV, "2")
    seen.clear()
    side_by_side = bootstrap_ci(names, y, pred, scores, plan, 400, 3)
    assert 2 in seen
    assert side_by_side == alone


def test_labels_coded_as_integers_give_the_very_same_intervals(monkeypatch):
    """The resamples compare class positions instead of text: every interval
    is what the text labels give, the positive class and the cost matrix
    included; integer classes in an unsorted order too."""
    from model_training.lib.assessment import bootstrap

    plan, y, pred, scores = _scored_fixture()
    names = ["roc_auc", "f1", "precision", "log_loss", "expected_cost", "accuracy"]
    coded = bootstrap_ci(names, y, pred, scores, plan, 60, 0)
    y_c, _, context = bootstrap.coded_labels(y, pred, plan.metric_context)
    assert y_c.dtype.kind == "i" and context["positive_class"] == plan.classes.index(
        "yes"
    )
    with monkeypatch.context() as patch:
        patch.setattr(bootstrap, "coded_labels", lambda a, b, c: (a, b, c))
        assert bootstrap_ci(names, y, pred, scores, plan, 60, 0) == coded
    # three integer classes listed out of order (as a plan may hold them)
    rng = np.random.default_rng(1)
    classes = [2, 0, 1]
    truth = rng.choice(classes, 400)
    proba = rng.dirichlet([1, 1, 1], 400)
    guess = np.asarray(classes)[proba.argmax(axis=1)]
    multi = plan.model_copy(update={"classes": classes})
    multi_names = ["f1_macro", "log_loss", "accuracy"]
    coded = bootstrap_ci(multi_names, truth, guess, proba, multi, 60, 0)
    with monkeypatch.context() as patch:
        patch.setattr(bootstrap, "coded_labels", lambda a, b, c: (a, b, c))
        plain = bootstrap_ci(multi_names, truth, guess, proba, multi, 60, 0)
    for name in multi_names:
        assert coded[name]["low"] == pytest.approx(plain[name]["low"], abs=1e-12)
        assert coded[name]["high"] == pytest.approx(plain[name]["high"], abs=1e-12)


def test_the_cost_of_a_resample_is_timed_as_the_bootstrap_scores_it(monkeypatch):
    """The budget's projection scores a batch of resamples through the count
    formulas and only the metrics without one through their own function."""
    from model_training.lib.assessment import bootstrap

    plan, y, pred, scores = _scored_fixture()
    batches, one_by_one = [], []
    counted, own = bootstrap.counted_metrics, bootstrap.compute_metrics

    def count_spy(names, rows, *args):
        batches.append((list(names), len(rows)))
        return counted(names, rows, *args)

    def own_spy(names, *args):
        one_by_one.append(list(names))
        return own(names, *args)

    monkeypatch.setattr(bootstrap, "counted_metrics", count_spy)
    monkeypatch.setattr(bootstrap, "compute_metrics", own_spy)
    names = ["roc_auc", "f1", "roc_auc_ovr"]
    seconds = bootstrap.seconds_per_resample(names, y, pred, scores, plan, 0)
    assert 0 < seconds < float("inf")
    assert batches == [(names, 4)]
    assert one_by_one == [["roc_auc_ovr"]]  # no formula for it
