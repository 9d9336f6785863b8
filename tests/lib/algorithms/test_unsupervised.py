"""Clustering and anomaly detection: labels stay out of fit, metrics, thresholds."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import polars as pl
import pytest
from sklearn import metrics as skm
from sklearn.cluster import DBSCAN, KMeans
from sklearn.ensemble import IsolationForest

from model_training.lib.algorithms.cv import cv_splits
from model_training.lib.algorithms.registry import algorithm, build_pipeline
from model_training.lib.algorithms.unsupervised import AnomalyScorer, ClusterModel
from model_training.lib.core.frames import split_xy
from model_training.lib.core.metrics import compute_metrics
from model_training.lib.core.plan import build_plan
from model_training.lib.core.schema import ColumnInfo, FeatureSchema
from model_training.lib.core.spec import ModelingSpec
from model_training.lib.problems import get_problem
from model_training.lib.training.candidates import train_candidates
from tests.conftest import conf_params


def blobs(n: int = 240, seed: int = 0) -> pl.DataFrame:
    """Three well separated groups in 3 numeric features, a text feature and a label."""
    rng = np.random.default_rng(seed)
    centres = np.array([[0, 0, 0], [6, 6, 0], [0, 6, 6]], dtype=float)
    group = rng.integers(0, 3, n)
    points = centres[group] + rng.normal(0, 0.7, (n, 3))
    return pl.DataFrame(
        {
            "row_id": np.arange(n),
            "a": points[:, 0],
            "b": points[:, 1],
            "c": points[:, 2],
            "colour": rng.choice(["red", "blue"], n),
            "species": np.array(["x", "y", "z"])[group],
        }
    )


def outliers(n: int = 400, anomalies: int = 20, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    normal = rng.normal(0, 1, (n - anomalies, 4))
    odd = rng.normal(0, 1, (anomalies, 4)) + rng.choice([-6, 6], (anomalies, 4))
    data = np.vstack([normal, odd])
    label = np.array(["normal"] * (n - anomalies) + ["anomaly"] * anomalies)
    order = rng.permutation(n)
    return pl.DataFrame(
        {f"f{i}": data[order, i] for i in range(4)} | {"status": label[order]}
    )


def plan_for(frame: pl.DataFrame, problem_type: str, label: str | None, **extra):
    columns = []
    for name in frame.columns:
        dtype = "string" if frame[name].dtype == pl.String else "float"
        role = "feature"
        if name == label:
            role = "label"
        elif name == "row_id":
            role, dtype = "identifier", "int"
        columns.append(ColumnInfo(name=name, dtype=dtype, role=role))
    schema = FeatureSchema(epic_id="u", columns=columns)
    primary = "silhouette" if problem_type == "clustering" else "pr_auc"
    spec = ModelingSpec(
        epic_id="u",
        problem_type=problem_type,
        primary_metric=extra.pop("primary_metric", primary),
        label_column=label,
        id_columns=["row_id"] if "row_id" in frame.columns else [],
        cross_validation={"n_splits": 3},
        **extra,
    )
    return build_plan(spec, schema, frame)


class SpyKMeans(KMeans):
    """KMeans that records what every fit received."""

    calls: ClassVar[list] = []

    def fit(self, X, y=None, sample_weight=None):
        SpyKMeans.calls.append((np.asarray(X).shape, y))
        return super().fit(X, y, sample_weight)


class SpyForest(IsolationForest):
    calls: ClassVar[list] = []

    def fit(self, X, y=None, sample_weight=None):
        SpyForest.calls.append((np.asarray(X).shape, y))
        return super().fit(X, y, sample_weight)


def test_label_column_never_reaches_a_clusterer():
    frame = blobs()
    plan = plan_for(frame, "clustering", "species")
    assert "species" not in plan.features and "row_id" not in plan.features
    x, y = split_xy(frame, plan)
    assert set(y.tolist()) == {"x", "y", "z"}  # kept for evaluation
    problem = get_problem("clustering")
    SpyKMeans.calls.clear()
    pipeline = build_pipeline(plan, algorithm("clustering", "kmeans"), {}, 0)
    pipeline.set_params(model__clusterer=SpyKMeans(n_clusters=3, n_init=3))
    # a scikit-learn pipeline passes y to every step, as CV code does
    pipeline.fit(x, y)
    problem.fit(pipeline, x, y)
    splits = cv_splits(frame, y, plan, 0)
    problem.finalize(pipeline, x, y, plan, splits, lambda _y: {}, {}, 0)
    assert SpyKMeans.calls, "the spy was not fitted"
    width = len(plan.numeric_features) + 2  # one-hot of colour
    for shape, seen_y in SpyKMeans.calls:
        assert seen_y is None
        assert shape[1] == width


def test_label_column_never_reaches_a_detector_in_candidates():
    frame = outliers()
    plan = plan_for(frame, "anomaly_detection", "status")
    SpyForest.calls.clear()
    problem = get_problem("anomaly_detection")
    x, y = split_xy(frame, plan)
    pipeline = build_pipeline(
        plan, algorithm("anomaly_detection", "isolation_forest"), {}, 0
    )
    pipeline.set_params(model__detector=SpyForest(n_estimators=20, random_state=0))
    pipeline.fit(x, y)
    problem.finalize(pipeline, x, y, plan, cv_splits(frame, y, plan, 0), None, {}, 0)
    assert SpyForest.calls
    assert all(seen_y is None for _, seen_y in SpyForest.calls)
    assert all(shape[1] == 4 for shape, _ in SpyForest.calls)


def test_clustering_metrics_match_scikit_learn():
    frame = blobs()
    plan = plan_for(frame, "clustering", "species")
    x, y = split_xy(frame, plan)
    problem = get_problem("clustering")
    model = problem.fit(
        build_pipeline(plan, algorithm("clustering", "kmeans"), {"n_clusters": 3}, 0),
        x,
        y,
    )
    labels, embedding = problem.predict(model, x, plan)
    got = problem.score(model, x, y, plan)
    assert got["silhouette"] == pytest.approx(skm.silhouette_score(embedding, labels))
    assert got["davies_bouldin"] == pytest.approx(
        skm.davies_bouldin_score(embedding, labels)
    )
    assert got["calinski_harabasz"] == pytest.approx(
        skm.calinski_harabasz_score(embedding, labels)
    )
    assert got["adjusted_rand"] == pytest.approx(skm.adjusted_rand_score(y, labels))
    assert got["normalized_mutual_info"] == pytest.approx(
        skm.normalized_mutual_info_score(y, labels)
    )
    assert got["adjusted_rand"] > 0.95  # the blobs are found
    unlabelled = plan_for(frame.drop("species"), "clustering", None)
    x2, y2 = split_xy(frame.drop("species"), unlabelled)
    scores = problem.score(model, x2, y2, unlabelled)
    assert np.isnan(scores["adjusted_rand"]) and scores["silhouette"] > 0.5


def test_anomaly_metrics_match_scikit_learn():
    rng = np.random.default_rng(3)
    truth = np.where(rng.random(300) < 0.1, "anomaly", "normal")
    score = rng.random(300) + (truth == "anomaly") * 0.5
    pred = np.where(score > 0.9, "anomaly", "normal")
    context = {"classes": None, "positive_class": "anomaly", "contamination": 0.1}
    names = [
        "precision",
        "recall",
        "f1",
        "roc_auc",
        "pr_auc",
        "false_positive_rate",
        "detection_rate",
        "flag_rate_gap",
    ]
    got = compute_metrics(names, truth, pred, score, context)
    binary = (truth == "anomaly").astype(int)
    flagged = (pred == "anomaly").astype(int)
    assert got["precision"] == pytest.approx(skm.precision_score(binary, flagged))
    assert got["recall"] == pytest.approx(skm.recall_score(binary, flagged))
    assert got["detection_rate"] == pytest.approx(got["recall"])
    assert got["f1"] == pytest.approx(skm.f1_score(binary, flagged))
    assert got["roc_auc"] == pytest.approx(skm.roc_auc_score(binary, score))
    assert got["pr_auc"] == pytest.approx(skm.average_precision_score(binary, score))
    tn, fp, _fn, _tp = skm.confusion_matrix(binary, flagged).ravel()
    assert got["false_positive_rate"] == pytest.approx(fp / (fp + tn))
    assert got["flag_rate_gap"] == pytest.approx(abs(flagged.mean() - 0.1))
    # without labels, the label metrics are undefined, not zero
    none = compute_metrics(names, np.full(300, np.nan), pred, score, context)
    assert np.isnan(none["precision"]) and np.isnan(none["roc_auc"])
    assert none["flag_rate_gap"] == pytest.approx(got["flag_rate_gap"])


@pytest.mark.parametrize("contamination", [0.02, 0.1, 0.25])
def test_threshold_honours_the_contamination_rate(contamination):
    frame = outliers(n=1000, anomalies=30).drop("status")
    plan = plan_for(
        frame,
        "anomaly_detection",
        None,
        contamination=contamination,
        primary_metric="flag_rate_gap",
    )
    assert plan.contamination == contamination and plan.labels == [0, 1]
    x, y = split_xy(frame, plan)
    problem = get_problem("anomaly_detection")
    pipeline = build_pipeline(
        plan,
        algorithm("anomaly_detection", "isolation_forest"),
        {"n_estimators": 50},
        0,
    )
    model, info = problem.finalize(
        pipeline, x, y, plan, cv_splits(frame, y, plan, 0), None, {}, 0
    )
    flagged = problem.predict(model, x, plan)[0]
    assert set(np.unique(flagged)) <= {0, 1}
    assert flagged.mean() == pytest.approx(contamination, abs=1.5 / len(flagged))
    assert info["anomaly_threshold"]["method"].startswith("flags the expected")
    scorer = AnomalyScorer(IsolationForest(random_state=0), contamination).fit(
        x.to_numpy()
    )
    assert (scorer.predict(x.to_numpy()) > scorer.threshold_).mean() == pytest.approx(
        contamination, abs=1.5 / len(flagged)
    )


def test_labelled_anomalies_get_an_f1_threshold_and_the_labels_as_predictions():
    frame = outliers()
    plan = plan_for(frame, "anomaly_detection", "status")
    assert plan.labels == ["normal", "anomaly"]
    assert plan.contamination == pytest.approx(0.05)
    x, y = split_xy(frame, plan)
    problem = get_problem("anomaly_detection")
    pipeline = build_pipeline(
        plan, algorithm("anomaly_detection", "isolation_forest"), {}, 0
    )
    model, info = problem.finalize(
        pipeline, x, y, plan, cv_splits(frame, y, plan, 0), None, {}, 0
    )
    assert info["anomaly_threshold"]["method"].startswith("maximises F1")
    assert info["oof_metrics"]["f1"] > 0.8
    assert set(model.predict(x).tolist()) == {"normal", "anomaly"}


def test_dbscan_assigns_new_rows_to_the_nearest_core_row_or_noise():
    rng = np.random.default_rng(0)
    data = np.vstack([rng.normal(0, 0.1, (50, 2)), rng.normal(5, 0.1, (50, 2))])
    model = ClusterModel(DBSCAN(eps=0.5, min_samples=5)).fit(data)
    assert model.n_clusters_ == 2
    new = np.array([[0.05, 0.0], [5.0, 5.1], [20.0, 20.0]])
    labels = model.predict(new)
    assert labels[0] == model.labels_[0] and labels[1] == model.labels_[60]
    assert labels[2] == -1


def test_candidates_beat_the_baselines_on_clear_blobs():
    frame = blobs(300)
    plan = plan_for(frame, "clustering", "species")
    train, validation = frame[:200], frame[200:]
    from model_training.lib.training.baseline import fit_baselines

    baselines, _ = fit_baselines(plan, train, validation, 0)
    results, _models = train_candidates(
        plan,
        train,
        validation,
        baselines,
        conf_params(
            "modeling",
            {"defaults": {"kmeans": {"n_clusters": 3}}, "latency_repeats": 2},
        ),
        0,
    )
    by_name = {m["name"]: m for m in results["models"]}
    assert by_name["kmeans"]["metrics"]["silhouette"] > baselines["best"]["value"]
    assert "kmeans" in results["shortlist"]


@pytest.mark.parametrize(("dims", "k"), [(5, 6), (10, 3), (10, 6)])
def test_every_bootstrap_interval_contains_its_estimate(dims, k):
    """A clustering's silhouette of 0.246 was reported with a CI of 0.251-0.411:
    duplicated rows in resamples inflated it (reproduced here on weakly
    clustered data: e.g. 0.094 against 0.127-0.213). Resamples of distinct rows
    remove the bias, so no widening is needed."""
    from model_training.lib.assessment.bootstrap import bootstrap_ci

    points = np.random.default_rng(1).normal(size=(60, dims))
    frame = pl.DataFrame({f"f{i}": points[:, i] for i in range(dims)})
    plan = plan_for(frame, "clustering", None)
    x, y = split_xy(frame, plan)
    problem = get_problem("clustering")
    model = problem.fit(
        build_pipeline(plan, algorithm("clustering", "kmeans"), {"n_clusters": k}, 0),
        x,
        y,
    )
    labels, embedding = problem.predict(model, x, plan)
    names = ["silhouette", "davies_bouldin", "calinski_harabasz"]
    intervals = bootstrap_ci(names, y, labels, embedding, plan, 200, 0)
    estimates = problem.score(model, x, y, plan)
    for name in names:
        assert intervals[name]["low"] <= estimates[name] <= intervals[name]["high"], (
            name
        )
    assert "note" not in intervals["silhouette"]
