"""Post-hoc ensembles: greedy selection with replacement over out-of-fold
predictions (Caruana, Niculescu-Mizil, Crew and Ksikes, 2004), and the fitted
weighted ensemble that ships like any other model.

* :func:`greedy_weights` starts from the best single model and adds, one round
  at a time, the model (possibly one already in) whose addition most improves
  the metric of the averaged predictions; it keeps the best round's mix, so the
  result is never worse than the best single model *on the rows it was chosen
  on*.
* :func:`cross_fitted` measures the ensemble honestly: for each fold, the
  weights are chosen on the other folds' out-of-fold predictions only, and the
  fold is scored with them. The ensemble is then compared with the single
  models on exactly the same folds.
* :class:`EnsembleClassifier` and :class:`EnsembleRegressor` are scikit-learn
  estimators over full member pipelines (each with its own preprocessing), so
  calibration, the decision threshold, explanations, the package and serving
  treat an ensemble as one model that predicts from raw feature columns.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone

from model_training.lib.algorithms.forecasters import Forecaster
from model_training.lib.core.frames import label_array

ENSEMBLE = "ensemble"


def combine(predictions: Sequence[np.ndarray], weights: Sequence[float]) -> np.ndarray:
    """The weighted average of the members' predictions (scores or values)."""
    total = float(np.sum(weights))
    out = np.zeros_like(np.asarray(predictions[0], dtype=float))
    for prediction, weight in zip(predictions, weights, strict=True):
        if weight:
            out += float(weight) * np.asarray(prediction, dtype=float)
    return out / total


def greedy_weights(
    predictions: Sequence[np.ndarray],
    score: Callable[[np.ndarray], float],
    greater_is_better: bool,
    rounds: int,
) -> tuple[np.ndarray, float]:
    """Greedy ensemble selection with replacement.

    Args:
        predictions: each model's out-of-fold predictions on the same rows.
        score: the metric of an averaged prediction on those rows.
        greater_is_better: the metric's direction.
        rounds: how many models the ensemble may hold (with repeats).

    Returns:
        Weights (counts divided by their sum, one per model) of the best round,
        and its score. Ties keep the earlier, smaller ensemble.
    """
    sign = 1.0 if greater_is_better else -1.0
    arrays = [np.asarray(p, dtype=float) for p in predictions]
    singles = [sign * _finite(score(p)) for p in arrays]
    first = int(np.argmax(singles))
    counts = np.zeros(len(arrays))
    counts[first] = 1
    running = arrays[first].copy()
    best_counts, best_value = counts.copy(), singles[first]
    for size in range(2, rounds + 1):
        trials = [sign * _finite(score((running + p) / size)) for p in arrays]
        pick = int(np.argmax(trials))
        running = running + arrays[pick]
        counts[pick] += 1
        if trials[pick] > best_value + 1e-12:
            best_counts, best_value = counts.copy(), trials[pick]
    return best_counts / best_counts.sum(), sign * best_value


def _finite(value: float) -> float:
    return float(value) if np.isfinite(value) else -np.inf


def cross_fitted(
    fold_predictions: Sequence[Sequence[np.ndarray]],
    splits: Sequence[tuple[np.ndarray, np.ndarray]],
    folds_per_repeat: int,
    score_rows: Callable[[np.ndarray, np.ndarray], float],
    greater_is_better: bool,
    rounds: int,
) -> tuple[list[float], list[np.ndarray]]:
    """Fold scores of the greedy ensemble with weights chosen without the fold.

    Args:
        fold_predictions: per model, per fold, its predictions on that fold's
            validation rows (the folds of ``splits``, in order).
        splits: the (train rows, validation rows) folds, ``folds_per_repeat``
            per repeat; within a repeat the validation rows cover each row once.
        folds_per_repeat: folds in one repeat.
        score_rows: ``score_rows(prediction, rows)``: the metric of a
            prediction for those row indices.
        greater_is_better: the metric's direction.
        rounds: the ensemble size for :func:`greedy_weights`.

    Returns:
        The ensemble's score on each fold and the weights used for it.
    """
    scores: list[float] = []
    used: list[np.ndarray] = []
    for start in range(0, len(splits), folds_per_repeat):
        repeat = range(start, start + folds_per_repeat)
        for held_out in repeat:
            others = [f for f in repeat if f != held_out]
            rows = np.concatenate([splits[f][1] for f in others])
            pooled = [
                np.concatenate([model[f] for f in others]) for model in fold_predictions
            ]
            weights, _ = greedy_weights(
                pooled,
                lambda p, r=rows: score_rows(p, r),
                greater_is_better,
                rounds,
            )
            held = [model[held_out] for model in fold_predictions]
            scores.append(score_rows(combine(held, weights), splits[held_out][1]))
            used.append(weights)
    return scores, used


class _Ensemble(BaseEstimator):
    """Members fitted on the same rows; predictions averaged with fixed weights.

    Args:
        members: unfitted member pipelines.
        weights: one non-negative weight per member (they need not sum to one).
        names: one label per member, for reports.
    """

    def __init__(
        self,
        members: Sequence[Any] = (),
        weights: Sequence[float] = (),
        names: Sequence[str] = (),
    ) -> None:
        self.members = members
        self.weights = weights
        self.names = names

    def fit(
        self,
        x: Any,
        y: Any,
        member_fit_params: Sequence[dict[str, Any]] | None = None,
    ) -> _Ensemble:
        """Fit a clone of every member with a non-zero weight on the same rows.

        ``member_fit_params`` holds each member's own ``fit`` keywords
        (cost-sensitive sample weights differ between members).
        """
        if len(self.members) != len(self.weights) or not len(self.members):
            raise ValueError("an ensemble needs one weight per member, and members")
        params = list(member_fit_params or [{}] * len(self.members))
        self.members_ = [
            clone(member).fit(x, y, **(extra or {})) if weight > 0 else None
            for member, weight, extra in zip(
                self.members, self.weights, params, strict=True
            )
        ]
        return self

    def _active(self) -> list[tuple[Any, float]]:
        return [
            (model, float(w))
            for model, w in zip(self.members_, self.weights, strict=True)
            if model is not None
        ]

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "members_")


class EnsembleClassifier(ClassifierMixin, _Ensemble):
    """A weighted average of the members' class probabilities."""

    def fit(self, x: Any, y: Any, member_fit_params: Any = None) -> EnsembleClassifier:
        super().fit(x, y, member_fit_params)
        self.classes_ = label_array(self._active()[0][0].classes_)
        return self

    def predict_proba(self, x: Any) -> np.ndarray:
        """Class probabilities, columns in ``classes_`` order."""
        order = [str(c) for c in self.classes_]
        parts, weights = [], []
        for model, weight in self._active():
            proba = np.asarray(model.predict_proba(x), dtype=float)
            fitted = [str(c) for c in model.classes_]
            parts.append(proba[:, [fitted.index(c) for c in order]])
            weights.append(weight)
        return combine(parts, weights)

    def predict(self, x: Any) -> np.ndarray:
        """The class of highest averaged probability."""
        return self.labels_for(self.predict_proba(x))

    def labels_for(self, proba: np.ndarray) -> np.ndarray:
        """What ``predict`` returns, from ``predict_proba``'s output."""
        return self.classes_[np.argmax(proba, axis=1)]


class EnsembleRegressor(RegressorMixin, _Ensemble):
    """A weighted average of the members' predictions."""

    def predict(self, x: Any) -> np.ndarray:
        """The weighted mean prediction."""
        active = self._active()
        return combine(
            [np.asarray(m.predict(x), dtype=float) for m, _ in active],
            [w for _, w in active],
        )


def is_ensemble(model: Any) -> bool:
    """Whether a (fitted or unfitted) model is a weighted ensemble."""
    return isinstance(model, _Ensemble)


def fitted_members(model: Any) -> list[tuple[Any, float]]:
    """A fitted ensemble's members with their weights (normalised to sum to one)."""
    active = model._active()
    total = sum(w for _, w in active) or 1.0
    return [(m, w / total) for m, w in active]


def active_names(model: Any) -> list[str]:
    """The names of a fitted ensemble's members with a non-zero weight, in order."""
    names = list(model.names) or [type(m).__name__ for m in model.members]
    return [n for n, m in zip(names, model.members_, strict=True) if m is not None]


class CombinedForecaster(Forecaster):
    """A weighted average of forecasters that share one history: each member
    is fitted on it and forecasts from it; the combination's mean is the
    weighted mean of theirs.

    Its intervals: when every member has analytic standard errors, their
    weighted mean (as if the members' errors were perfectly correlated, which
    errs wide); otherwise the empirical ``k``-step errors of the combination
    itself on the last part of the history, like any forecaster without them.
    """

    def __init__(
        self,
        members: Sequence[Any] = (),
        weights: Sequence[float] = (),
        names: Sequence[str] = (),
        seasonal_period: int = 1,
        horizon: int = 1,
        time_column: str = "time",
        frequency: str = "D",
        known_covariates: tuple[str, ...] = (),
        lagged_covariates: tuple[str, ...] = (),
    ) -> None:
        self.members = members
        self.weights = weights
        self.names = names
        self.seasonal_period = seasonal_period
        self.horizon = horizon
        self.time_column = time_column
        self.frequency = frequency
        self.known_covariates = known_covariates
        self.lagged_covariates = lagged_covariates

    @property
    def _analytic(self) -> bool:  # type: ignore[override]
        return all(getattr(m, "_analytic", False) for m in self.members)

    def _active(self) -> list[tuple[Any, float]]:
        return [
            (m, float(w))
            for m, w in zip(self.members_, self.weights, strict=True)
            if m is not None
        ]

    def _fit(self, y, cov, times) -> None:
        self.members_ = [
            clone(m).fit_history(y, cov, times) if w > 0 else None
            for m, w in zip(self.members, self.weights, strict=True)
        ]

    def _forecast(self, y, cov, times, future_cov, future_times, steps):
        means, ses, weights = [], [], []
        for member, weight in self._active():
            mean, se = member._forecast(y, cov, times, future_cov, future_times, steps)
            means.append(np.asarray(mean, dtype=float))
            ses.append(None if se is None else np.asarray(se, dtype=float))
            weights.append(weight)
        se = None if any(s is None for s in ses) else combine(ses, weights)
        return combine(means, weights), se

    def _min_history(self) -> int:
        return max(m._min_history() for m in self.members)
