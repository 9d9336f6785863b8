"""The metric registry: every metric the stage reports, by name.

Names follow scikit-learn: ``*_score`` and plain names such as ``roc_auc`` are
higher-is-better; ``*_error`` and ``*_loss`` are lower-is-better. Each metric
declares the problem types it fits and whether it needs scores (probabilities)
rather than hard predictions, so a spec can be checked before any model runs.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn import metrics as skm
from sklearn.exceptions import UndefinedMetricWarning

from model_training.lib.core.kinds import kinds_where

# which problem types each metric fits, by trait (lib/core/kinds.py)
CLASSIFICATION = kinds_where(classification=True)
BINARY = kinds_where(binary=True)
REGRESSION = kinds_where(numeric_output=True)
CLUSTERING = kinds_where(family="clustering")
TIME_SERIES = kinds_where(temporal=True)
ANOMALY = kinds_where(flags_anomalies=True)
# metrics over a positive class: binary classification, and anomalies (the positive
# class is the anomaly label of a label column kept for evaluation)
POSITIVE = kinds_where(positive_label=True)


@dataclass(frozen=True)
class Metric:
    """A named metric.

    Attributes:
        name: the key used in specs and reports.
        func: ``func(y_true, y_pred, y_score, context) -> float``.
        greater_is_better: direction of improvement.
        problem_types: the problem types the metric fits.
        needs_score: True if it is computed from scores/probabilities.
        pairwise: True if it compares rows with each other (clustering's
            internal criteria): a bootstrap resample's duplicated rows, at
            distance zero from each other, would bias it, so resamples keep
            distinct rows only.
    """

    name: str
    func: Callable[..., float]
    greater_is_better: bool
    problem_types: frozenset[str]
    needs_score: bool = False
    pairwise: bool = False

    def fits(self, name: str) -> bool:
        """Whether the metric applies to the problem type of that name."""
        return name in self.problem_types


def _pos(context: dict) -> object:
    return context["positive_class"]


def _pos_column(y_score: np.ndarray, context: dict) -> np.ndarray:
    if np.ndim(y_score) == 1:  # an anomaly score: already toward the positive class
        return np.asarray(y_score, dtype=float)
    classes = list(context["classes"])
    return y_score[:, classes.index(_pos(context))]


def has_labels(y_true: np.ndarray) -> bool:
    """True unless ``y_true`` is empty or all missing (unsupervised, no label column)."""
    values = np.asarray(y_true, dtype=object)
    if values.size == 0:
        return False
    return any(
        v is not None and not (isinstance(v, float) and np.isnan(v)) for v in values
    )


def _binary_truth(y_true: np.ndarray, context: dict) -> np.ndarray:
    if not has_labels(y_true):
        raise ValueError("no labels to compare with")
    return (np.asarray(y_true) == _pos(context)).astype(int)


def _labelled(y_true: np.ndarray) -> np.ndarray:
    if not has_labels(y_true):
        raise ValueError("no labels to compare with")
    return y_true


def _false_positive_rate(y_true, y_pred, _score, context) -> float:
    truth = _binary_truth(y_true, context)
    flagged = (np.asarray(y_pred) == _pos(context)).astype(int)
    negatives = truth == 0
    return float(flagged[negatives].mean()) if negatives.any() else float("nan")


def _flag_rate_gap(_true, y_pred, _score, context) -> float:
    expected = context.get("contamination")
    if expected is None:
        return float("nan")
    flagged = np.asarray(y_pred) == _pos(context)
    return float(abs(flagged.mean() - expected))


def _smape(y_true, y_pred, _score, _context) -> float:
    truth, pred = np.asarray(y_true, float), np.asarray(y_pred, float)
    denominator = np.abs(truth) + np.abs(pred)
    keep = denominator > 0
    return float(np.mean(2 * np.abs(truth - pred)[keep] / denominator[keep]))


def _mase(y_true, y_pred, _score, context) -> float:
    scale = context.get("mase_scale")
    if not scale:
        return float("nan")
    error = np.abs(np.asarray(y_true, float) - np.asarray(y_pred, float))
    return float(np.mean(error) / scale)


def _directional_accuracy(y_true, y_pred, _score, _context) -> float:
    """Share of steps where the forecast moves the same way as the actual value.

    Both moves are measured from the previous actual value.
    """
    truth, pred = np.asarray(y_true, float), np.asarray(y_pred, float)
    if len(truth) < 2:
        return float("nan")
    actual_move = np.sign(truth[1:] - truth[:-1])
    forecast_move = np.sign(pred[1:] - truth[:-1])
    return float(np.mean(actual_move == forecast_move))


def _coverage(y_true, _pred, y_score, _context) -> float:
    """Share of actual values inside the prediction interval (columns lower, upper)."""
    bounds = np.asarray(y_score, dtype=float)
    if bounds.ndim != 2 or bounds.shape[1] < 2:
        return float("nan")
    truth = np.asarray(y_true, float)
    return float(np.mean((truth >= bounds[:, 0]) & (truth <= bounds[:, 1])))


def _clustered(
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


def _internal(func: Callable[..., float]) -> Callable[..., float]:
    def metric(_true, y_pred, embedding, _context) -> float:
        data, labels = _clustered(y_pred, embedding)
        return float(func(data, labels))

    return metric


def _expected_cost(y_true, y_pred, _score, context) -> float:
    cost = context.get("cost_matrix")
    if cost is None:
        return float("nan")
    labels = list(cost["labels"])
    index = {label: i for i, label in enumerate(labels)}
    table = np.asarray(cost["costs"], dtype=float)
    rows = np.array([index[v] for v in y_true])
    cols = np.array([index[v] for v in y_pred])
    return float(table[rows, cols].mean())


def _safe_mape(y_true, y_pred, _score, _context) -> float:
    y_true = np.asarray(y_true, dtype=float)
    y_pred = np.asarray(y_pred, dtype=float)
    nonzero = np.abs(y_true) > np.finfo(float).eps
    if not nonzero.any():
        return float("nan")
    return float(np.mean(np.abs((y_true - y_pred)[nonzero] / y_true[nonzero])))


def _sorted_scores(y_score: np.ndarray, context: dict) -> tuple[np.ndarray, list]:
    """Scores and labels in sorted label order, as scikit-learn expects them."""
    classes = list(context["classes"])
    order = sorted(range(len(classes)), key=lambda i: classes[i])
    return y_score[:, order], [classes[i] for i in order]


def _multiclass_auc(y_true, _pred, y_score, context) -> float:
    if len(np.unique(y_true)) < len(context["classes"]):
        return float("nan")
    scores, labels = _sorted_scores(y_score, context)
    return float(
        skm.roc_auc_score(
            y_true, scores, multi_class="ovr", average="macro", labels=labels
        )
    )


def _log_loss(y_true, _pred, y_score, context) -> float:
    scores, labels = _sorted_scores(y_score, context)
    return float(skm.log_loss(y_true, scores, labels=labels))


_REGISTRY: tuple[Metric, ...] = (
    # classification, hard predictions
    Metric(
        "accuracy", lambda t, p, s, c: skm.accuracy_score(t, p), True, CLASSIFICATION
    ),
    Metric(
        "balanced_accuracy",
        lambda t, p, s, c: skm.balanced_accuracy_score(t, p),
        True,
        CLASSIFICATION,
    ),
    Metric(
        "precision",
        lambda t, p, s, c: skm.precision_score(
            _labelled(t), p, pos_label=_pos(c), zero_division=0
        ),
        True,
        POSITIVE,
    ),
    Metric(
        "recall",
        lambda t, p, s, c: skm.recall_score(
            _labelled(t), p, pos_label=_pos(c), zero_division=0
        ),
        True,
        POSITIVE,
    ),
    Metric(
        "f1",
        lambda t, p, s, c: skm.f1_score(
            _labelled(t), p, pos_label=_pos(c), zero_division=0
        ),
        True,
        POSITIVE,
    ),
    Metric(
        "f1_macro",
        lambda t, p, s, c: skm.f1_score(t, p, average="macro", zero_division=0),
        True,
        CLASSIFICATION,
    ),
    Metric(
        "f1_weighted",
        lambda t, p, s, c: skm.f1_score(t, p, average="weighted", zero_division=0),
        True,
        CLASSIFICATION,
    ),
    Metric("expected_cost", _expected_cost, False, CLASSIFICATION),
    # classification, scores
    Metric(
        "roc_auc",
        lambda t, p, s, c: skm.roc_auc_score(_binary_truth(t, c), _pos_column(s, c)),
        True,
        POSITIVE,
        needs_score=True,
    ),
    Metric(
        "pr_auc",
        lambda t, p, s, c: skm.average_precision_score(
            _binary_truth(t, c), _pos_column(s, c)
        ),
        True,
        POSITIVE,
        needs_score=True,
    ),
    Metric(
        "brier_loss",
        lambda t, p, s, c: skm.brier_score_loss(_binary_truth(t, c), _pos_column(s, c)),
        False,
        BINARY,
        needs_score=True,
    ),
    Metric(
        "roc_auc_ovr", _multiclass_auc, True, CLASSIFICATION - BINARY, needs_score=True
    ),
    Metric(
        "log_loss",
        _log_loss,
        False,
        CLASSIFICATION,
        needs_score=True,
    ),
    # regression
    Metric("r2", lambda t, p, s, c: skm.r2_score(t, p), True, REGRESSION),
    Metric(
        "mean_absolute_error",
        lambda t, p, s, c: skm.mean_absolute_error(t, p),
        False,
        REGRESSION,
    ),
    Metric(
        "mean_squared_error",
        lambda t, p, s, c: skm.mean_squared_error(t, p),
        False,
        REGRESSION,
    ),
    Metric(
        "root_mean_squared_error",
        lambda t, p, s, c: skm.root_mean_squared_error(t, p),
        False,
        REGRESSION,
    ),
    Metric("mean_absolute_percentage_error", _safe_mape, False, REGRESSION),
    Metric(
        "median_absolute_error",
        lambda t, p, s, c: skm.median_absolute_error(t, p),
        False,
        REGRESSION,
    ),
    # clustering: internal criteria on the preprocessed features (the "score"),
    # noise rows (-1) left out; external ones against a label column kept for
    # evaluation
    Metric(
        "silhouette",
        _internal(skm.silhouette_score),
        True,
        CLUSTERING,
        needs_score=True,
        pairwise=True,
    ),
    Metric(
        "davies_bouldin",
        _internal(skm.davies_bouldin_score),
        False,
        CLUSTERING,
        needs_score=True,
        pairwise=True,
    ),
    Metric(
        "calinski_harabasz",
        _internal(skm.calinski_harabasz_score),
        True,
        CLUSTERING,
        needs_score=True,
        pairwise=True,
    ),
    Metric(
        "adjusted_rand",
        lambda t, p, s, c: skm.adjusted_rand_score(_labelled(t), p),
        True,
        CLUSTERING,
    ),
    Metric(
        "normalized_mutual_info",
        lambda t, p, s, c: skm.normalized_mutual_info_score(_labelled(t), p),
        True,
        CLUSTERING,
    ),
    # anomaly detection (besides precision, recall, f1, roc_auc, pr_auc above)
    Metric("false_positive_rate", _false_positive_rate, False, ANOMALY),
    Metric(
        "detection_rate",
        lambda t, p, s, c: skm.recall_score(
            _binary_truth(t, c), (np.asarray(p) == _pos(c)).astype(int), zero_division=0
        ),
        True,
        ANOMALY,
    ),
    Metric("flag_rate_gap", _flag_rate_gap, False, ANOMALY),
    # time series (besides the regression metrics, which fit it too)
    Metric("mean_absolute_scaled_error", _mase, False, TIME_SERIES),
    Metric("symmetric_mean_absolute_percentage_error", _smape, False, TIME_SERIES),
    Metric("directional_accuracy", _directional_accuracy, True, TIME_SERIES),
    Metric("interval_coverage", _coverage, True, TIME_SERIES, needs_score=True),
)

METRICS: dict[str, Metric] = {m.name: m for m in _REGISTRY}

# Short names people write in specs, mapped to the registry's names.
ALIASES: dict[str, str] = {
    "auc": "roc_auc",
    "average_precision": "pr_auc",
    "brier": "brier_loss",
    "cost": "expected_cost",
    "mae": "mean_absolute_error",
    "mse": "mean_squared_error",
    "rmse": "root_mean_squared_error",
    "mape": "mean_absolute_percentage_error",
    "medae": "median_absolute_error",
    "silhouette_score": "silhouette",
    "ari": "adjusted_rand",
    "nmi": "normalized_mutual_info",
    "fpr": "false_positive_rate",
    "mase": "mean_absolute_scaled_error",
    "smape": "symmetric_mean_absolute_percentage_error",
}


def canonical(name: str) -> str:
    """Return the registry name for a metric name or alias (unchanged if unknown)."""
    return ALIASES.get(name, name)


def metrics_for(problem_type: str) -> list[str]:
    """Return the names of every metric that fits a problem type."""
    return [m.name for m in _REGISTRY if m.fits(problem_type)]


def compute_metrics(
    names: list[str],
    y_true: np.ndarray,
    y_pred: np.ndarray,
    y_score: np.ndarray | None,
    context: dict,
) -> dict[str, float]:
    """Compute the named metrics.

    Args:
        names: metric names from :data:`METRICS`.
        y_true: true labels or values.
        y_pred: hard predictions.
        y_score: class probabilities, columns in ``context["classes"]`` order,
            or None when the model has none (score metrics are then NaN).
        context: ``classes``, ``positive_class`` and ``cost_matrix`` as needed.

    Returns:
        ``{name: value}``; a metric that cannot be computed is NaN.
    """
    out: dict[str, float] = {}
    for name in names:
        metric = METRICS[name]
        if metric.needs_score and y_score is None:
            out[name] = float("nan")
            continue
        try:
            with warnings.catch_warnings():
                # a slice or resample with one class: the metric is undefined, NaN
                warnings.simplefilter("ignore", UndefinedMetricWarning)
                out[name] = float(metric.func(y_true, y_pred, y_score, context))
        except ValueError:
            out[name] = float("nan")
    return out


def is_better(name: str, candidate: float, reference: float) -> bool:
    """Return True when ``candidate`` strictly improves on ``reference``."""
    if np.isnan(candidate):
        return False
    if np.isnan(reference):
        return True
    if METRICS[name].greater_is_better:
        return candidate > reference
    return candidate < reference
