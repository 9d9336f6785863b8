"""The metric registry: every metric the stage reports, by name.

Names follow scikit-learn: ``*_score`` and plain names such as ``roc_auc`` are
higher-is-better; ``*_error`` and ``*_loss`` are lower-is-better. Each metric
declares the problem types it fits and whether it needs scores (probabilities)
rather than hard predictions, so a spec can be checked before any model runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn import metrics as skm

CLASSIFICATION = frozenset({"binary_classification", "multiclass_classification"})
BINARY = frozenset({"binary_classification"})
REGRESSION = frozenset({"regression", "time_series"})


@dataclass(frozen=True)
class Metric:
    """A named metric.

    Attributes:
        name: the key used in specs and reports.
        func: ``func(y_true, y_pred, y_score, context) -> float``.
        greater_is_better: direction of improvement.
        problem_types: the problem types the metric fits.
        needs_score: True if it is computed from scores/probabilities.
    """

    name: str
    func: Callable[..., float]
    greater_is_better: bool
    problem_types: frozenset[str]
    needs_score: bool = False


def _pos(context: dict) -> object:
    return context["positive_class"]


def _pos_column(y_score: np.ndarray, context: dict) -> np.ndarray:
    classes = list(context["classes"])
    return y_score[:, classes.index(_pos(context))]


def _binary_truth(y_true: np.ndarray, context: dict) -> np.ndarray:
    return (np.asarray(y_true) == _pos(context)).astype(int)


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
            t, p, pos_label=_pos(c), zero_division=0
        ),
        True,
        BINARY,
    ),
    Metric(
        "recall",
        lambda t, p, s, c: skm.recall_score(t, p, pos_label=_pos(c), zero_division=0),
        True,
        BINARY,
    ),
    Metric(
        "f1",
        lambda t, p, s, c: skm.f1_score(t, p, pos_label=_pos(c), zero_division=0),
        True,
        BINARY,
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
        BINARY,
        needs_score=True,
    ),
    Metric(
        "pr_auc",
        lambda t, p, s, c: skm.average_precision_score(
            _binary_truth(t, c), _pos_column(s, c)
        ),
        True,
        BINARY,
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
}


def canonical(name: str) -> str:
    """Return the registry name for a metric name or alias (unchanged if unknown)."""
    return ALIASES.get(name, name)


def metrics_for(problem_type: str) -> list[str]:
    """Return the names of every metric that fits a problem type."""
    return [m.name for m in _REGISTRY if problem_type in m.problem_types]


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
