"""Estimators for clustering and anomaly detection, with one interface each.

Every estimator here is the last step of a pipeline whose first step is the
shared preprocessor (imputation, scaling, one-hot encoding), so everything is
fitted on training rows only, like the supervised candidates.

* Clustering: :class:`ClusterModel` wraps a scikit-learn clusterer. ``fit(X)``
  learns the clusters; ``predict(X)`` assigns new rows. Algorithms without a
  ``predict`` (DBSCAN, agglomerative clustering) assign a new row the cluster of
  its nearest training row (DBSCAN: the nearest *core* row, and noise, ``-1``,
  when that row is farther than ``eps``), so validation and test rows are
  scored by a model that never saw them.
* Anomaly detection: :class:`AnomalyScorer` wraps a detector. ``predict(X)``
  returns the anomaly score (higher is more anomalous), so explanations treat it
  as a number; ``threshold_`` is the training-score quantile that flags the
  expected contamination. :class:`AnomalyModel` is the finished model: a fitted
  scorer, a decision threshold, and the label values it predicts.

``fit`` takes ``y`` only because scikit-learn pipelines pass it; it is dropped
before any model sees it, so a label column kept for evaluation can never train
a model (a test spies on this).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.neighbors import KNeighborsClassifier

from model_training.lib.core.frames import label_array


def _dense(x: Any) -> np.ndarray:
    if hasattr(x, "toarray"):
        x = x.toarray()
    return np.asarray(x, dtype=float)


class ClusterModel(BaseEstimator):
    """A clusterer that can also assign rows it was not fitted on."""

    def __init__(self, clusterer: Any = None) -> None:
        self.clusterer = clusterer

    def fit(self, x: Any, y: Any = None) -> ClusterModel:
        data = _dense(x)
        model = clone(self.clusterer)
        if hasattr(model, "fit_predict"):
            labels = np.asarray(model.fit_predict(data))
        else:
            labels = np.asarray(model.fit(data).predict(data))
        self.model_ = model
        self.labels_ = labels
        self.inductive_ = hasattr(model, "predict")
        if not self.inductive_:
            core = getattr(model, "core_sample_indices_", None)
            rows = np.arange(len(data)) if core is None or len(core) == 0 else core
            self.eps_ = getattr(model, "eps", None) if core is not None else None
            self.assigner_ = KNeighborsClassifier(n_neighbors=1).fit(
                data[rows], labels[rows]
            )
        return self

    def predict(self, x: Any) -> np.ndarray:
        data = _dense(x)
        if self.inductive_:
            return np.asarray(self.model_.predict(data))
        labels = self.assigner_.predict(data)
        if self.eps_ is not None:
            distance, _ = self.assigner_.kneighbors(data, n_neighbors=1)
            labels = np.where(distance[:, 0] <= self.eps_, labels, -1)
        return np.asarray(labels)

    @property
    def n_clusters_(self) -> int:
        return len(set(self.labels_.tolist()) - {-1})


class RandomClusters(BaseEstimator):
    """Baseline: every row gets one of ``n_clusters`` labels at random."""

    def __init__(self, n_clusters: int = 3, random_state: int = 0) -> None:
        self.n_clusters = n_clusters
        self.random_state = random_state

    def fit(self, x: Any, y: Any = None) -> RandomClusters:
        self.labels_ = self.predict(x)
        return self

    def predict(self, x: Any) -> np.ndarray:
        data = _dense(x)
        rng = np.random.default_rng(self.random_state + len(data))
        return rng.integers(0, self.n_clusters, size=len(data))


class SingleFeatureClusters(BaseEstimator):
    """Baseline: k-means on the one scaled column with the largest spread."""

    def __init__(self, n_clusters: int = 3, random_state: int = 0) -> None:
        self.n_clusters = n_clusters
        self.random_state = random_state

    def fit(self, x: Any, y: Any = None) -> SingleFeatureClusters:
        from sklearn.cluster import KMeans

        data = _dense(x)
        self.column_ = int(np.nanargmax(np.nanstd(data, axis=0)))
        self.model_ = KMeans(
            n_clusters=self.n_clusters, n_init=10, random_state=self.random_state
        ).fit(data[:, [self.column_]])
        self.labels_ = self.model_.labels_
        return self

    def predict(self, x: Any) -> np.ndarray:
        return self.model_.predict(_dense(x)[:, [self.column_]])


class Autoencoder(BaseEstimator):
    """A small neural network trained to reproduce its input through a bottleneck.

    The anomaly score is the mean squared reconstruction error of a row.
    """

    def __init__(
        self,
        hidden: tuple[int, ...] = (16, 4, 16),
        alpha: float = 1e-4,
        max_iter: int = 400,
        random_state: int = 0,
    ) -> None:
        self.hidden = hidden
        self.alpha = alpha
        self.max_iter = max_iter
        self.random_state = random_state

    def fit(self, x: Any, y: Any = None) -> Autoencoder:
        import warnings

        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPRegressor

        data = _dense(x)
        self.network_ = MLPRegressor(
            hidden_layer_sizes=tuple(self.hidden),
            alpha=self.alpha,
            max_iter=self.max_iter,
            early_stopping=len(data) >= 50,
            random_state=self.random_state,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.network_.fit(data, data)
        return self

    def score_samples(self, x: Any) -> np.ndarray:
        data = _dense(x)
        error = ((self.network_.predict(data) - data) ** 2).mean(axis=1)
        return -error  # scikit-learn convention: lower is more abnormal


class ZScoreDetector(BaseEstimator):
    """Baseline: a row's largest absolute z-score over the features."""

    def fit(self, x: Any, y: Any = None) -> ZScoreDetector:
        data = _dense(x)
        self.mean_ = np.nanmean(data, axis=0)
        std = np.nanstd(data, axis=0)
        self.std_ = np.where(std > 0, std, 1.0)
        return self

    def score_samples(self, x: Any) -> np.ndarray:
        z = np.abs((_dense(x) - self.mean_) / self.std_)
        return -np.nanmax(z, axis=1)


class PercentileDetector(BaseEstimator):
    """Baseline: how far into the tails of the training distribution a row goes.

    Per feature, a value's extremeness is ``|2 F(v) - 1|`` with ``F`` the
    training ECDF (0 at the median, 1 beyond the training range); a row's score
    is its most extreme feature.
    """

    def fit(self, x: Any, y: Any = None) -> PercentileDetector:
        self.sorted_ = np.sort(_dense(x), axis=0)
        return self

    def score_samples(self, x: Any) -> np.ndarray:
        data = _dense(x)
        n = self.sorted_.shape[0]
        extreme = np.zeros_like(data)
        for j in range(data.shape[1]):
            low = np.searchsorted(self.sorted_[:, j], data[:, j], side="left")
            high = np.searchsorted(self.sorted_[:, j], data[:, j], side="right")
            cdf = (low + high) / (2 * n)
            extreme[:, j] = np.abs(2 * cdf - 1)
        return -np.nanmax(extreme, axis=1)


class AnomalyScorer(BaseEstimator):
    """A detector whose ``predict`` is the anomaly score (higher: more anomalous).

    ``threshold_`` is the ``1 - contamination`` quantile of the training scores,
    the cut a candidate is compared with before the final threshold is chosen.
    """

    def __init__(self, detector: Any = None, contamination: float = 0.05) -> None:
        self.detector = detector
        self.contamination = contamination

    def fit(self, x: Any, y: Any = None) -> AnomalyScorer:
        self.detector_ = clone(self.detector).fit(_dense(x))
        train_scores = self.predict(x)
        self.threshold_ = float(np.quantile(train_scores, 1 - self.contamination))
        return self

    def predict(self, x: Any) -> np.ndarray:
        return -np.asarray(self.detector_.score_samples(_dense(x)), dtype=float)


class AnomalyModel(BaseEstimator):
    """The finished detector: a fitted scoring pipeline, a threshold and labels.

    ``predict`` returns ``anomaly_label`` for rows scoring above the threshold
    and ``normal_label`` otherwise; ``score_samples`` returns the scores.
    """

    def __init__(
        self,
        estimator: Any = None,
        threshold: float = 0.0,
        normal_label: Any = 0,
        anomaly_label: Any = 1,
    ) -> None:
        self.estimator = estimator
        self.threshold = threshold
        self.normal_label = normal_label
        self.anomaly_label = anomaly_label

    def fit(self, x: Any, y: Any = None) -> AnomalyModel:
        self.estimator.fit(x)
        return self

    def score_samples(self, x: Any) -> np.ndarray:
        return np.asarray(self.estimator.predict(x), dtype=float)

    def predict(self, x: Any) -> np.ndarray:
        flagged = self.score_samples(x) > self.threshold
        labels = label_array([self.normal_label, self.anomaly_label])
        out = labels[flagged.astype(int)]
        if all(isinstance(v, (int, np.integer)) for v in labels):
            return out.astype(int)
        return out
