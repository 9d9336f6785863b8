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
from model_training.lib.core.labels import coded_labels
from model_training.lib.core.metric_functions import (
    binary_truth,
    directional_accuracy,
    expected_cost,
    false_positive_rate,
    flag_rate_gap,
    internal_criterion,
    interval_coverage,
    labelled_rows,
    log_loss,
    mase,
    multiclass_auc,
    positive_column,
    positive_of,
    pr_auc,
    rank_roc_auc,
    safe_mape,
    smape,
)

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
        every_class: True if it is undefined on rows without every class
            (ranking metrics: ROC-AUC, PR-AUC).
    """

    name: str
    func: Callable[..., float]
    greater_is_better: bool
    problem_types: frozenset[str]
    needs_score: bool = False
    pairwise: bool = False
    every_class: bool = False

    def fits(self, name: str) -> bool:
        """Whether the metric applies to the problem type of that name."""
        return name in self.problem_types


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
            labelled_rows(t), p, pos_label=positive_of(c), zero_division=0
        ),
        True,
        POSITIVE,
    ),
    Metric(
        "recall",
        lambda t, p, s, c: skm.recall_score(
            labelled_rows(t), p, pos_label=positive_of(c), zero_division=0
        ),
        True,
        POSITIVE,
    ),
    Metric(
        "f1",
        lambda t, p, s, c: skm.f1_score(
            labelled_rows(t), p, pos_label=positive_of(c), zero_division=0
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
    Metric("expected_cost", expected_cost, False, CLASSIFICATION),
    # classification, scores
    Metric(
        "roc_auc",
        lambda t, p, s, c: rank_roc_auc(binary_truth(t, c), positive_column(s, c)),
        True,
        POSITIVE,
        needs_score=True,
        every_class=True,
    ),
    Metric(
        "pr_auc",
        lambda t, p, s, c: pr_auc(binary_truth(t, c), positive_column(s, c)),
        True,
        POSITIVE,
        needs_score=True,
        every_class=True,
    ),
    Metric(
        "brier_loss",
        lambda t, p, s, c: skm.brier_score_loss(
            binary_truth(t, c), positive_column(s, c)
        ),
        False,
        BINARY,
        needs_score=True,
    ),
    Metric(
        "roc_auc_ovr",
        multiclass_auc,
        True,
        CLASSIFICATION - BINARY,
        needs_score=True,
        every_class=True,
    ),
    Metric(
        "log_loss",
        log_loss,
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
    Metric("mean_absolute_percentage_error", safe_mape, False, REGRESSION),
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
        internal_criterion(skm.silhouette_score),
        True,
        CLUSTERING,
        needs_score=True,
        pairwise=True,
    ),
    Metric(
        "davies_bouldin",
        internal_criterion(skm.davies_bouldin_score),
        False,
        CLUSTERING,
        needs_score=True,
        pairwise=True,
    ),
    Metric(
        "calinski_harabasz",
        internal_criterion(skm.calinski_harabasz_score),
        True,
        CLUSTERING,
        needs_score=True,
        pairwise=True,
    ),
    Metric(
        "adjusted_rand",
        lambda t, p, s, c: skm.adjusted_rand_score(labelled_rows(t), p),
        True,
        CLUSTERING,
    ),
    Metric(
        "normalized_mutual_info",
        lambda t, p, s, c: skm.normalized_mutual_info_score(labelled_rows(t), p),
        True,
        CLUSTERING,
    ),
    # anomaly detection (besides precision, recall, f1, roc_auc, pr_auc above)
    Metric("false_positive_rate", false_positive_rate, False, ANOMALY),
    Metric(
        "detection_rate",
        lambda t, p, s, c: skm.recall_score(
            binary_truth(t, c),
            (np.asarray(p) == positive_of(c)).astype(int),
            zero_division=0,
        ),
        True,
        ANOMALY,
    ),
    Metric("flag_rate_gap", flag_rate_gap, False, ANOMALY),
    # time series (besides the regression metrics, which fit it too)
    Metric("mean_absolute_scaled_error", mase, False, TIME_SERIES),
    Metric("symmetric_mean_absolute_percentage_error", smape, False, TIME_SERIES),
    Metric("directional_accuracy", directional_accuracy, True, TIME_SERIES),
    Metric("interval_coverage", interval_coverage, True, TIME_SERIES, needs_score=True),
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


# above this many rows compute_metrics compares class positions, not labels
CODED_ABOVE_ROWS = 2000


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
    if y_true is not None and len(y_true) > CODED_ABOVE_ROWS:
        y_true, y_pred, context = coded_labels(y_true, y_pred, context)
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
