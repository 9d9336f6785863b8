"""Clustering and anomaly-detection algorithms: factories and their registry entries."""

from __future__ import annotations

from model_training.lib.algorithms.algorithm import (
    CLUSTERER,
    DETECTOR,
    Algorithm,
)


def _kmeans(params, seed, _cw):
    from sklearn.cluster import KMeans

    from model_training.lib.algorithms.unsupervised import ClusterModel

    return ClusterModel(
        KMeans(
            n_clusters=int(params.get("n_clusters", 3)),
            n_init=int(params.get("n_init", 10)),
            random_state=seed,
        )
    )


def _dbscan(params, _seed, _cw):
    from sklearn.cluster import DBSCAN

    from model_training.lib.algorithms.unsupervised import ClusterModel

    return ClusterModel(
        DBSCAN(
            eps=float(params.get("eps", 0.8)),
            min_samples=int(params.get("min_samples", 5)),
        )
    )


def _agglomerative(params, _seed, _cw):
    from sklearn.cluster import AgglomerativeClustering

    from model_training.lib.algorithms.unsupervised import ClusterModel

    return ClusterModel(
        AgglomerativeClustering(
            n_clusters=int(params.get("n_clusters", 3)),
            linkage=str(params.get("linkage", "ward")),
        )
    )


def _gaussian_mixture(params, seed, _cw):
    from sklearn.mixture import GaussianMixture

    from model_training.lib.algorithms.unsupervised import ClusterModel

    return ClusterModel(
        GaussianMixture(
            n_components=int(params.get("n_components", 3)),
            covariance_type=str(params.get("covariance_type", "full")),
            random_state=seed,
        )
    )


def _isolation_forest(params, seed, _cw):
    from model_training.lib.algorithms.forests import TreeByTreeIsolationForest
    from model_training.lib.algorithms.unsupervised import AnomalyScorer

    return AnomalyScorer(
        TreeByTreeIsolationForest(
            n_estimators=int(params.get("n_estimators", 200)),
            max_samples=params.get("max_samples", "auto"),
            max_features=float(params.get("max_features", 1.0)),
            random_state=seed,
        )
    )


def _one_class_svm(params, _seed, _cw):
    from sklearn.svm import OneClassSVM

    from model_training.lib.algorithms.unsupervised import AnomalyScorer

    return AnomalyScorer(
        OneClassSVM(
            nu=float(params.get("nu", 0.05)), gamma=params.get("gamma", "scale")
        )
    )


def _local_outlier_factor(params, _seed, _cw):
    from sklearn.neighbors import LocalOutlierFactor

    from model_training.lib.algorithms.unsupervised import AnomalyScorer

    return AnomalyScorer(
        LocalOutlierFactor(n_neighbors=int(params.get("n_neighbors", 20)), novelty=True)
    )


def _autoencoder(params, seed, _cw):
    from model_training.lib.algorithms.unsupervised import (
        AnomalyScorer,
        Autoencoder,
    )

    width = int(params.get("width", 16))
    bottleneck = int(params.get("bottleneck", 4))
    return AnomalyScorer(
        Autoencoder(
            hidden=(width, bottleneck, width),
            alpha=float(params.get("alpha", 1e-4)),
            max_iter=int(params.get("max_iter", 400)),
            random_state=seed,
        )
    )


_UNSUPERVISED = {"class_weight": False, "sample_weight": False}

CLUSTERERS: tuple[Algorithm, ...] = (
    Algorithm(
        "kmeans",
        CLUSTERER,
        _kmeans,
        "k-means on scaled features",
        clusters_param="n_clusters",
        interpretability=4,
        cost=1,
        **_UNSUPERVISED,
    ),
    Algorithm(
        "dbscan",
        CLUSTERER,
        _dbscan,
        "DBSCAN density clustering (noise rows labelled -1)",
        row_guard=20000,
        interpretability=3,
        cost=2,
        **_UNSUPERVISED,
    ),
    Algorithm(
        "agglomerative",
        CLUSTERER,
        _agglomerative,
        "hierarchical (agglomerative) clustering",
        row_guard=10000,
        clusters_param="n_clusters",
        interpretability=3,
        cost=3,
        **_UNSUPERVISED,
    ),
    Algorithm(
        "gaussian_mixture",
        CLUSTERER,
        _gaussian_mixture,
        "Gaussian mixture model",
        clusters_param="n_components",
        interpretability=3,
        cost=2,
        **_UNSUPERVISED,
    ),
)

DETECTORS: tuple[Algorithm, ...] = (
    Algorithm(
        "isolation_forest",
        DETECTOR,
        _isolation_forest,
        "isolation forest",
        interpretability=2,
        cost=2,
        **_UNSUPERVISED,
    ),
    Algorithm(
        "one_class_svm",
        DETECTOR,
        _one_class_svm,
        "one-class SVM (RBF)",
        row_guard=10000,
        interpretability=1,
        cost=4,
        **_UNSUPERVISED,
    ),
    Algorithm(
        "local_outlier_factor",
        DETECTOR,
        _local_outlier_factor,
        "local outlier factor (novelty mode)",
        row_guard=50000,
        interpretability=2,
        cost=3,
        **_UNSUPERVISED,
    ),
    Algorithm(
        "autoencoder",
        DETECTOR,
        _autoencoder,
        "autoencoder (reconstruction error of a small neural network)",
        interpretability=1,
        cost=4,
        **_UNSUPERVISED,
    ),
)
