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

import numpy as np
from imblearn.ensemble import BalancedRandomForestClassifier
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.utils.validation import check_is_fitted

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


def _tree_by_tree(forest: Any, X: Any) -> tuple[Any, bool]:
    """The validated rows, and whether the forest can score them tree by tree:
    one output and a single-threaded prediction (the fitted forests' own)."""
    fast = forest.n_outputs_ == 1 and forest.n_jobs in (None, 1)
    return forest._validate_X_predict(X) if fast else X, fast


class _TreeByTree:
    """Mixin: a fitted forest scores rows tree by tree on its trees' arrays.

    scikit-learn's forest checks the input again in every tree and goes through
    a thread pool even on one thread: about 0.1 ms per tree, 33 ms for one row
    of the default epic through 300 trees, against 1-2 ms for the trees
    themselves. The input is checked once here, each tree's ``tree_`` predicts
    and the results are summed in the trees' order, exactly as scikit-learn
    sums them on one thread, so the predictions are bit for bit the same
    (tested). Several outputs, or ``n_jobs`` above one, take scikit-learn's
    own path.
    """

    def predict_proba(self, X: Any) -> Any:
        check_is_fitted(self)
        rows, fast = _tree_by_tree(self, X)
        if not fast:
            return super().predict_proba(X)
        total = np.zeros((rows.shape[0], self.n_classes_), dtype=np.float64)
        for tree in self.estimators_:
            total += tree.tree_.predict(rows)[:, : tree.n_classes_]
        total /= len(self.estimators_)
        return total


class _TreeByTreeRegressor:
    """Mixin: :class:`_TreeByTree` for a regression forest's ``predict``."""

    def predict(self, X: Any) -> Any:
        check_is_fitted(self)
        rows, fast = _tree_by_tree(self, X)
        if not fast:
            return super().predict(X)
        total = np.zeros(rows.shape[0], dtype=np.float64)
        for tree in self.estimators_:
            total += tree.tree_.predict(rows)[:, 0]
        total /= len(self.estimators_)
        return total


class ThreadedRandomForestClassifier(
    _FitOnThreads, _TreeByTree, RandomForestClassifier
):
    """scikit-learn's random forest classifier, fitted on the run's threads."""


class ThreadedRandomForestRegressor(
    _FitOnThreads, _TreeByTreeRegressor, RandomForestRegressor
):
    """scikit-learn's random forest regressor, fitted on the run's threads."""


class ThreadedBalancedRandomForestClassifier(
    _FitOnThreads, _TreeByTree, BalancedRandomForestClassifier
):
    """imbalanced-learn's balanced random forest, fitted on the run's threads."""
