"""The metrics scikit-learn does not have, or has without the guards this stage needs (labels kept for evaluation, positive classes of any type, degenerate inputs): ``func(y_true, y_pred, y_score, context) -> float``."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn import metrics as skm


def positive_of(context: dict) -> object:
    return context["positive_class"]


def positive_column(y_score: np.ndarray, context: dict) -> np.ndarray:
    if np.ndim(y_score) == 1:  # an anomaly score: already toward the positive class
        return np.asarray(y_score, dtype=float)
    classes = list(context["classes"])
    return y_score[:, classes.index(positive_of(context))]


def has_labels(y_true: np.ndarray) -> bool:
    """True unless ``y_true`` is empty or all missing (unsupervised, no label column)."""
    values = np.asarray(y_true, dtype=object)
    if values.size == 0:
        return False
    return any(
        v is not None and not (isinstance(v, float) and np.isnan(v)) for v in values
    )


def binary_truth(y_true: np.ndarray, context: dict) -> np.ndarray:
    if not has_labels(y_true):
        raise ValueError("no labels to compare with")
    return (np.asarray(y_true) == positive_of(context)).astype(int)


def pr_auc(truth: np.ndarray, score: np.ndarray) -> float:
    """Average precision; NaN without a positive row (scikit-learn then warns
    and answers 0, which made a slice of normal rows the weakest slice)."""
    if not np.asarray(truth).astype(bool).any():
        return float("nan")
    return float(skm.average_precision_score(truth, score))


def rank_roc_auc(truth: np.ndarray, score: np.ndarray) -> float:
    """ROC-AUC as the Mann-Whitney statistic with average ranks for ties.

    Equal to scikit-learn's ``roc_auc_score`` (trapezoids through tied scores)
    but without its input checks, which cost about 50 times the arithmetic on
    the few hundred rows of a fold: the greedy ensemble scores thousands of
    weightings. Raises ValueError, as scikit-learn does, for one class only or
    scores that are not finite."""
    from scipy.stats import rankdata

    truth = np.asarray(truth).astype(bool)
    score = np.asarray(score, dtype=float)
    if truth.shape != score.shape or not np.isfinite(score).all():
        raise ValueError("ROC-AUC needs one finite score per row")
    positives = int(truth.sum())
    negatives = truth.size - positives
    if positives == 0 or negatives == 0:
        raise ValueError("ROC-AUC needs both classes")
    ranks = rankdata(score)
    return float(
        (ranks[truth].sum() - positives * (positives + 1) / 2) / (positives * negatives)
    )


def labelled_rows(y_true: np.ndarray) -> np.ndarray:
    if not has_labels(y_true):
        raise ValueError("no labels to compare with")
    return y_true


def false_positive_rate(y_true, y_pred, _score, context) -> float:
    truth = binary_truth(y_true, context)
    flagged = (np.asarray(y_pred) == positive_of(context)).astype(int)
    negatives = truth == 0
    return float(flagged[negatives].mean()) if negatives.any() else float("nan")


def flag_rate_gap(_true, y_pred, _score, context) -> float:
    expected = context.get("contamination")
    if expected is None:
        return float("nan")
    flagged = np.asarray(y_pred) == positive_of(context)
    return float(abs(flagged.mean() - expected))


def smape(y_true, y_pred, _score, _context) -> float:
    truth, pred = np.asarray(y_true, float), np.asarray(y_pred, float)
    denominator = np.abs(truth) + np.abs(pred)
    keep = denominator > 0
    return float(np.mean(2 * np.abs(truth - pred)[keep] / denominator[keep]))


def mase(y_true, y_pred, _score, context) -> float:
    scale = context.get("mase_scale")
    error = np.abs(np.asarray(y_true, float) - np.asarray(y_pred, float))
    if not scale or error.size == 0:
        return float("nan")
    return float(np.mean(error) / scale)


def directional_accuracy(y_true, y_pred, _score, _context) -> float:
    """Share of steps where the forecast moves the same way as the actual value.

    Both moves are measured from the previous actual value.
    """
    truth, pred = np.asarray(y_true, float), np.asarray(y_pred, float)
    if len(truth) < 2:
        return float("nan")
    actual_move = np.sign(truth[1:] - truth[:-1])
    forecast_move = np.sign(pred[1:] - truth[:-1])
    return float(np.mean(actual_move == forecast_move))


def interval_coverage(y_true, _pred, y_score, _context) -> float:
    """Share of actual values inside the prediction interval (columns lower, upper)."""
    bounds = np.asarray(y_score, dtype=float)
    if bounds.ndim != 2 or bounds.shape[1] < 2:
        return float("nan")
    truth = np.asarray(y_true, float)
    return float(np.mean((truth >= bounds[:, 0]) & (truth <= bounds[:, 1])))


def clustered(
    y_pred: np.ndarray, embedding: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Rows not labelled noise (-1), and their clusters; needs two clusters or more."""
    labels = np.asarray(y_pred)
    keep = labels != -1
    if len(set(labels[keep].tolist())) < 2 or keep.sum() <= len(
        set(labels[keep].tolist())
    ):
        raise ValueError("fewer than two clusters")
    return np.asarray(embedding, dtype=float)[keep], labels[keep]


def internal_criterion(func: Callable[..., float]) -> Callable[..., float]:
    def metric(_true, y_pred, embedding, _context) -> float:
        data, labels = clustered(y_pred, embedding)
        return float(func(data, labels))

    return metric


def expected_cost(y_true, y_pred, _score, context) -> float:
    cost = context.get("cost_matrix")
    if cost is None:
        return float("nan")
    labels = list(cost["labels"])
    index = {label: i for i, label in enumerate(labels)}
    table = np.asarray(cost["costs"], dtype=float)
    rows = np.array([index[v] for v in y_true])
    cols = np.array([index[v] for v in y_pred])
    return float(table[rows, cols].mean())


def safe_mape(y_true, y_pred, _score, _context) -> float:
    y_true = np.asarray(y_true, dtype=float)
    y_pred = np.asarray(y_pred, dtype=float)
    nonzero = np.abs(y_true) > np.finfo(float).eps
    if not nonzero.any():
        return float("nan")
    return float(np.mean(np.abs((y_true - y_pred)[nonzero] / y_true[nonzero])))


def sorted_scores(y_score: np.ndarray, context: dict) -> tuple[np.ndarray, list]:
    """Scores and labels in sorted label order, as scikit-learn expects them."""
    classes = list(context["classes"])
    order = sorted(range(len(classes)), key=lambda i: classes[i])
    return y_score[:, order], [classes[i] for i in order]


def multiclass_auc(y_true, _pred, y_score, context) -> float:
    if len(np.unique(y_true)) < len(context["classes"]):
        return float("nan")
    scores, labels = sorted_scores(y_score, context)
    return float(
        skm.roc_auc_score(
            y_true, scores, multi_class="ovr", average="macro", labels=labels
        )
    )


def log_loss(y_true, _pred, y_score, context) -> float:
    scores, labels = sorted_scores(y_score, context)
    return float(skm.log_loss(y_true, scores, labels=labels))
