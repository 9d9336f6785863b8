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
