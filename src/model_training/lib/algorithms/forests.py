"""Random forests that fit on the run's threads and predict on one.

A forest's trees are independent, so fitting them on every core the run has
is close to a linear speed-up (``n_jobs``). Prediction is another matter: with
``n_jobs`` above one, every call dispatches to a thread pool, which costs more
than scoring a single row through a few hundred trees (measured: candidate p95
15.6 ms -> 43.6 ms on the default epic). These forests therefore set
``n_jobs`` to :func:`fit_threads` for the length of ``fit`` only and leave the
fitted model single-threaded. Each tree's seed is drawn before the fit is
spread over threads, so the model is the same whatever the thread count.
"""

from __future__ import annotations

from typing import Any

from imblearn.ensemble import BalancedRandomForestClassifier
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

from model_training.lib.core.threads import fit_threads


class _FitOnThreads:
    """Mixin: ``fit`` runs on the run's threads; the fitted model on one."""

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> Any:
        chosen = self.n_jobs
        self.n_jobs = fit_threads() if chosen is None else chosen
        try:
            return super().fit(X, y, sample_weight=sample_weight)
        finally:
            self.n_jobs = chosen


class ThreadedRandomForestClassifier(_FitOnThreads, RandomForestClassifier):
    """scikit-learn's random forest classifier, fitted on the run's threads."""


class ThreadedRandomForestRegressor(_FitOnThreads, RandomForestRegressor):
    """scikit-learn's random forest regressor, fitted on the run's threads."""


class ThreadedBalancedRandomForestClassifier(
    _FitOnThreads, BalancedRandomForestClassifier
):
    """imbalanced-learn's balanced random forest, fitted on the run's threads."""
