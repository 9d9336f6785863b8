"""Calibration kept only when it lowers ECE; the threshold minimises expected cost."""

from __future__ import annotations

import numpy as np
import pytest

from model_training.lib.algorithms.calibration import (
    choose_calibration,
    choose_threshold,
    expected_calibration_error,
)
from model_training.lib.algorithms.final_model import (
    CalibratedModel,
    ThresholdedClassifier,
)


def binary_sample(n=4000, seed=0, squash=1.0):
    rng = np.random.default_rng(seed)
    p = rng.beta(2, 3, n)
    truth = (rng.random(n) < p).astype(int)
    shown = 0.5 + (p - 0.5) * squash  # squash < 1: under-confident scores
    return np.column_stack([1 - shown, shown]), truth


def test_ece_is_small_for_calibrated_and_large_for_squashed_scores():
    calibrated, truth = binary_sample()
    squashed, truth2 = binary_sample(squash=0.3)
    assert expected_calibration_error(truth, calibrated) < 0.03
    assert expected_calibration_error(truth2, squashed) > 0.08


def test_miscalibrated_scores_are_calibrated():
    scores, truth = binary_sample(squash=0.3)
    result = choose_calibration(scores, truth, ["sigmoid", "isotonic"], seed=0)
    assert result["method"] in ("sigmoid", "isotonic")
    assert result["ece_after"] < result["ece_before"] / 2
    assert set(result["ece_by_method"]) == {"sigmoid", "isotonic"}


def test_calibration_is_dropped_when_it_does_not_help():
    scores, truth = binary_sample(n=400, seed=2)
    result = choose_calibration(scores, truth, ["sigmoid", "isotonic"], seed=0)
    assert "isotonic" not in result["ece_by_method"]  # too few rows for isotonic
    if result["method"] is None:
        assert result["ece_after"] == result["ece_before"]
        assert result["scores"] is scores
    else:
        assert result["ece_after"] < result["ece_before"]


def test_threshold_minimises_cost_near_bayes_for_calibrated_scores():
    scores, truth = binary_sample(n=20000)
    result = choose_threshold(
        scores[:, 1], truth == 1, cost_false_positive=1, cost_false_negative=5
    )
    assert result["bayes_threshold"] == pytest.approx(1 / 6)
    assert abs(result["threshold"] - 1 / 6) < 0.05
    assert result["expected_cost"] <= result["expected_cost_at_0_5"]
    assert result["expected_cost"] <= result["expected_cost_at_bayes"] + 1e-12


class _Fixed:
    classes_ = np.array(["bad", "good"], dtype=object)

    def predict_proba(self, x):
        p_bad = np.asarray(x, dtype=float)
        return np.column_stack([p_bad, 1 - p_bad])


def test_wrappers_reorder_calibrate_and_threshold():
    from model_training.lib.algorithms.final_model import fit_calibrator

    identity = fit_calibrator(
        "isotonic", np.linspace(0, 1, 50), (np.linspace(0, 1, 50) > 0.5).astype(int)
    )
    calibrated = CalibratedModel(_Fixed(), [identity], ["good", "bad"], "isotonic")
    proba = calibrated.predict_proba([0.1, 0.9])
    assert list(calibrated.classes_) == ["good", "bad"]
    assert proba[0, 1] == pytest.approx(0.0, abs=1e-5)
    assert proba[1, 1] == pytest.approx(1.0, abs=1e-5)
    decided = ThresholdedClassifier(_Fixed(), threshold=0.2, positive_class="bad")
    assert list(decided.predict([0.1, 0.25, 0.9])) == ["good", "bad", "bad"]


def test_isotonic_calibration_keeps_the_ranking_of_the_scores():
    """Isotonic steps would tie rows the model told apart, and lower ROC-AUC;
    ties are broken by the raw score, which moves no probability by 1e-6."""
    from sklearn.metrics import roc_auc_score

    from model_training.lib.algorithms.final_model import (
        apply_calibrator,
        fit_calibrator,
    )

    rng = np.random.default_rng(0)
    scores = rng.random(400)
    truth = (rng.random(400) < scores).astype(int)
    iso = fit_calibrator("isotonic", scores, truth)
    calibrated = apply_calibrator(iso, scores)
    assert len(np.unique(iso.predict(scores))) < 100  # the steps tie rows
    assert roc_auc_score(truth, calibrated) == pytest.approx(
        roc_auc_score(truth, scores)
    )
    assert np.max(np.abs(calibrated - iso.predict(scores))) <= 1e-6
    assert calibrated.min() >= 0 and calibrated.max() <= 1


def test_platt_scaling_stays_finite_on_scores_that_separate_the_classes():
    """Platt's targets ((N+ + 1) / (N+ + 2), 1 / (N- + 2)) bound the sigmoid:
    perfectly separated scores do not become probabilities of 0 and 1."""
    import numpy as np

    from model_training.lib.algorithms.final_model import (
        apply_calibrator,
        fit_calibrator,
    )

    scores = np.r_[np.linspace(0.01, 0.3, 40), np.linspace(0.6, 0.99, 20)]
    truth = np.r_[np.zeros(40), np.ones(20)].astype(int)
    calibrator = fit_calibrator("sigmoid", scores, truth)
    # the rows nearest the gap keep a real doubt (0/1 targets: 0.001 and 0.998)
    near_gap = apply_calibrator(calibrator, np.array([0.3, 0.6]))
    assert 0.05 < near_gap[0] < 0.5 < near_gap[1] < 0.95
    assert calibrator.coef_[0, 0] < 5  # 0/1 targets: a slope of 10 and growing
    # still a calibration: it separates the classes as the scores did
    assert apply_calibrator(calibrator, scores[truth == 1]).min() > 0.5
    assert apply_calibrator(calibrator, scores[truth == 0]).max() < 0.5


def test_a_calibration_that_raises_the_log_loss_is_not_kept(monkeypatch):
    """ECE rewards a calibrator that pushes every probability to 0 or 1 and is
    right about how often it is right; its rare errors then cost without
    bound. The log loss guard refuses it."""
    import numpy as np

    from model_training.lib.algorithms import calibration

    rng = np.random.default_rng(0)
    index = rng.integers(0, 3, 300)
    scores = np.full((300, 3), 0.15)
    scores[np.arange(300), index] = 0.7  # right, and modest about it
    wrong = rng.choice(300, 15, replace=False)
    scores[wrong] = np.roll(scores[wrong], 1, axis=1)

    def overconfident(method, s, idx, seed, n_splits=5):
        hard = np.zeros_like(s)
        hard[np.arange(len(s)), s.argmax(axis=1)] = 1.0
        return hard

    monkeypatch.setattr(calibration, "cross_calibrated", overconfident)
    chosen = calibration.choose_calibration(scores, index, ["sigmoid"], 0)
    assert chosen["ece_by_method"]["sigmoid"] < chosen["ece_before"]
    assert chosen["log_loss_by_method"]["sigmoid"] > chosen["log_loss_before"]
    assert chosen["method"] is None
    assert chosen["scores"] is scores


def test_of_two_helpful_calibrations_the_lower_log_loss_is_kept(monkeypatch):
    """Ten-bin ECE on a few hundred rows is noisy: when both methods lower it,
    the proper scoring rule chooses, not the slightly lower ECE."""
    from model_training.lib.algorithms import calibration

    scores, truth = binary_sample(n=2000, squash=0.3)
    true_p, _ = binary_sample(n=2000)  # the same draw, not squashed

    def designed(method, s, idx, seed, n_splits=5):
        if method == "sigmoid":
            return true_p
        # each ECE bin's rows at the bin's rate of positives: no ECE at all,
        # but every row within a bin alike, a coarser forecast than the truth
        bins = np.clip((true_p[:, 1] * 10).astype(int), 0, 9)
        hard = np.empty(len(s))
        for b in np.unique(bins):
            hard[bins == b] = idx[bins == b].mean()
        return np.column_stack([1 - hard, hard])

    monkeypatch.setattr(calibration, "cross_calibrated", designed)
    chosen = calibration.choose_calibration(scores, truth, ["sigmoid", "isotonic"], 0)
    ece, loss = chosen["ece_by_method"], chosen["log_loss_by_method"]
    assert ece["isotonic"] < ece["sigmoid"] < chosen["ece_before"]
    assert loss["sigmoid"] < loss["isotonic"]
    assert chosen["method"] == "sigmoid"
    assert chosen["scores"] is true_p
