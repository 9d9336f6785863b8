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

import time
from typing import Any

import numpy as np
from imblearn.ensemble import BalancedRandomForestClassifier
from sklearn.ensemble import (
    IsolationForest,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.utils.validation import check_is_fitted

from model_training.lib.core.threads import fit_threads

# trees grown between two looks at a fit's deadline
TREES_PER_STEP = 25


class _FitOnThreads:
    """Mixin: ``fit`` runs on the run's threads; the fitted model on one.

    With a ``deadline`` (an object with ``at``, epoch seconds, and
    ``stopped_at``, like CatBoost's and LightGBM's deadline callback), the
    trees are grown :data:`TREES_PER_STEP` at a time (scikit-learn's warm
    start, which draws each tree's seed as a single fit would: the same trees)
    and the fit ends with the trees it has once the deadline has passed
    (``deadline.stopped_at``: their number). A random forest candidate of
    36,000 rows took 84 s, 50 s past the candidates' checkpoint.
    """

    def fit(
        self, X: Any, y: Any, sample_weight: Any = None, deadline: Any = None
    ) -> Any:
        chosen = self.n_jobs
        self.n_jobs = fit_threads() if chosen is None else chosen
        try:
            if deadline is None or isinstance(self, BalancedRandomForestClassifier):
                return super().fit(X, y, sample_weight=sample_weight)
            return self._fit_until(X, y, sample_weight, deadline)
        finally:
            self.n_jobs = chosen

    def _fit_until(self, X: Any, y: Any, sample_weight: Any, deadline: Any) -> Any:
        total, warm = self.n_estimators, self.warm_start
        if hasattr(self, "estimators_"):
            del self.estimators_  # a refit starts from no tree
        try:
            self.warm_start, grown = True, 0
            while grown < total:
                grown = min(total, grown + TREES_PER_STEP)
                self.n_estimators = grown
                super().fit(X, y, sample_weight=sample_weight)
                if grown < total and time.time() >= deadline.at:
                    deadline.stopped_at = grown
                    break
        finally:
            self.n_estimators, self.warm_start = total, warm
        return self


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


class TreeByTreeIsolationForest(IsolationForest):
    """scikit-learn's isolation forest, scoring rows tree by tree.

    scikit-learn sends each tree's depths through joblib even on one thread:
    about 0.1 ms per tree, 35 ms for one row through 300 trees. Here the trees
    are walked in a plain loop and the depths summed in the trees' order, as
    scikit-learn sums them, so the scores are bit for bit the same (tested).
    A scikit-learn without the fitted per-tree path lengths this reads takes
    its own path.
    """

    def _compute_score_samples(self, X: Any, subsample_features: bool) -> Any:
        lengths = getattr(self, "_decision_path_lengths", None)
        averages = getattr(self, "_average_path_length_per_tree", None)
        if lengths is None or averages is None:
            return super()._compute_score_samples(X, subsample_features)
        from sklearn.ensemble._iforest import _average_path_length

        # each node's depth term, as scikit-learn adds it: (length + average) - 1
        per_node = getattr(self, "_node_depths", None)
        if per_node is None or len(per_node) != len(self.estimators_):
            per_node = [a + b - 1.0 for a, b in zip(lengths, averages, strict=True)]
            self._node_depths = per_node
        rows = np.ascontiguousarray(X, dtype=np.float32)
        depths = np.zeros(X.shape[0], order="f")
        for tree, features, node in zip(
            self.estimators_, self.estimators_features_, per_node, strict=True
        ):
            part = rows[:, features] if subsample_features else rows
            depths += node[tree.tree_.apply(part)]
        denominator = len(self.estimators_) * _average_path_length([self._max_samples])
        return 2 ** (
            -np.divide(
                depths, denominator, out=np.ones_like(depths), where=denominator != 0
            )
        )
