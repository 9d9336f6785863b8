"""Calibration (stage step 5.5) and the cost-minimising decision threshold.

Both are chosen on out-of-fold predictions of train + validation, never on the
test split: the final pipeline is cross-fitted once to get honest probabilities
for every row, each calibration method is cross-fitted on those probabilities,
and the calibrated model is kept only when it lowers the expected calibration
error (ECE) without raising the log loss beyond noise (a proper scoring rule:
ECE alone can reward a calibrator that turns probabilities into 0 and 1, whose
rare errors then cost without bound); of several such methods, the one with
the lowest log loss.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.model_selection import StratifiedKFold

from model_training.lib.algorithms.final_model import calibrate_scores, fit_calibrator


def expected_calibration_error(
    truth: np.ndarray, scores: np.ndarray, n_bins: int = 10
) -> float:
    """ECE with equal-width bins.

    Binary (``scores`` has two columns): on the positive-class probability, with
    ``truth`` 0/1. Multiclass: on the top-label confidence, with ``truth`` the
    column index of the true class.
    """
    scores = np.asarray(scores, dtype=float)
    if scores.shape[1] == 2:
        confidence = scores[:, 1]
        hit = np.asarray(truth, dtype=float)
    else:
        confidence = scores.max(axis=1)
        hit = (scores.argmax(axis=1) == np.asarray(truth)).astype(float)
    edges = np.linspace(0, 1, n_bins + 1)
    bins = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, n_bins - 1)
    total = 0.0
    for b in range(n_bins):
        mask = bins == b
        if mask.any():
            total += mask.mean() * abs(hit[mask].mean() - confidence[mask].mean())
    return float(total)


def row_log_loss(index: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Each row's negative log probability of its true class (probabilities
    clipped at 1e-15, as scikit-learn's ``log_loss`` does)."""
    scores = np.asarray(scores, dtype=float)
    chosen = scores[np.arange(len(index)), np.asarray(index, dtype=int)]
    return -np.log(np.clip(chosen, 1e-15, 1.0))


def truth_index(y: np.ndarray, classes: list[Any]) -> np.ndarray:
    """Each label's column index in ``classes``."""
    names = [str(c) for c in classes]
    return np.array([names.index(str(v)) for v in y])


def fit_calibrators(method: str, scores: np.ndarray, index: np.ndarray) -> list[Any]:
    """Calibrators for the positive column (binary) or for every column."""
    if scores.shape[1] == 2:
        return [fit_calibrator(method, scores[:, 1], (index == 1).astype(int))]
    return [
        fit_calibrator(method, scores[:, j], (index == j).astype(int))
        for j in range(scores.shape[1])
    ]


def cross_calibrated(
    method: str, scores: np.ndarray, index: np.ndarray, seed: int, n_splits: int = 5
) -> np.ndarray:
    """Out-of-fold calibrated scores: each fold's calibrator never saw its rows."""
    out = np.zeros_like(scores, dtype=float)
    folds = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    for fit_rows, apply_rows in folds.split(scores, index):
        calibrators = fit_calibrators(method, scores[fit_rows], index[fit_rows])
        out[apply_rows] = calibrate_scores(calibrators, scores[apply_rows])
    return out


def choose_calibration(
    scores: np.ndarray,
    index: np.ndarray,
    methods: list[str],
    seed: int,
    min_rows_isotonic: int = 500,
) -> dict[str, Any]:
    """Compare ECE (and log loss) of the raw and each calibrated out-of-fold score.

    Isotonic regression needs many rows; below ``min_rows_isotonic`` it is not
    tried (it overfits small data).

    Returns:
        ``{"ece_before", "ece_by_method", "log_loss_before",
        "log_loss_by_method", "log_loss_worse", "rule", "method" (None when
        none helps),
        "ece_after", "scores"}`` where ``scores`` are the out-of-fold scores of
        the kept option.
    """
    before = expected_calibration_error(
        index == 1 if scores.shape[1] == 2 else index, scores
    )
    rows_before = row_log_loss(index, scores)
    results, losses, worse, calibrated = {}, {}, {}, {}
    for method in methods:
        if method == "isotonic" and len(index) < min_rows_isotonic:
            continue
        calibrated[method] = cross_calibrated(method, scores, index, seed)
        results[method] = expected_calibration_error(
            index == 1 if scores.shape[1] == 2 else index, calibrated[method]
        )
        change = row_log_loss(index, calibrated[method]) - rows_before
        losses[method] = float(rows_before.mean() + change.mean())
        # worse beyond noise: the mean change in each row's log loss exceeds
        # its standard error
        error = change.std(ddof=1) / np.sqrt(len(change)) if len(change) > 1 else 0
        worse[method] = bool(change.mean() > error)
    # a calibrator that makes the probabilities worse by a proper scoring rule
    # is not kept, however much it lowers the ECE; among those that lower the
    # ECE, the proper rule decides: ten-bin ECE on a few hundred rows is noisy
    # (credit_risk: isotonic 0.029 against sigmoid 0.032, but a log loss of
    # 0.519 against 0.485)
    eligible = {m: losses[m] for m in results if not worse[m] and results[m] < before}
    best = min(eligible, key=eligible.get) if eligible else None
    keep = best is not None
    return {
        "ece_before": before,
        "ece_by_method": results,
        "log_loss_before": float(rows_before.mean()),
        "log_loss_by_method": losses,
        "log_loss_worse": worse,
        "rule": "among the methods that lower the out-of-fold ECE without raising "
        "the out-of-fold log loss beyond one standard error of the row-by-row "
        "change, the lowest out-of-fold log loss; none when no method lowers "
        "the ECE",
        "method": best if keep else None,
        "ece_after": results[best] if keep else before,
        "scores": calibrated[best] if keep else scores,
    }


def choose_threshold(
    positive_scores: np.ndarray,
    is_positive: np.ndarray,
    cost_false_positive: float,
    cost_false_negative: float,
) -> dict[str, float]:
    """The probability threshold that minimises the mean cost of decisions.

    Scans a grid of thresholds (0.01 to 0.99 by 0.01, plus the Bayes threshold
    ``c_fp / (c_fp + c_fn)``) rather than every distinct score, which would
    overfit the out-of-fold sample; a row is called positive when its score is
    at least the threshold.
    """
    scores = np.asarray(positive_scores, dtype=float)
    truth = np.asarray(is_positive, dtype=bool)
    bayes = cost_false_positive / (cost_false_positive + cost_false_negative)
    candidates = np.unique(
        np.round(np.concatenate([np.linspace(0.01, 0.99, 99), [bayes]]), 6)
    )

    def cost(threshold: float) -> float:
        called = scores >= threshold
        false_pos = np.sum(called & ~truth)
        false_neg = np.sum(~called & truth)
        return float(
            (false_pos * cost_false_positive + false_neg * cost_false_negative)
            / len(scores)
        )

    costs = np.array([cost(t) for t in candidates])
    best = int(np.argmin(costs))
    return {
        "threshold": float(candidates[best]),
        "expected_cost": float(costs[best]),
        "expected_cost_at_0_5": cost(0.5),
        "bayes_threshold": float(bayes),
        "expected_cost_at_bayes": cost(bayes),
    }
