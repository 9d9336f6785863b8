"""Forests fit on the run's threads, predict on one, and do not depend on it."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pytest
from imblearn.ensemble import BalancedRandomForestClassifier
from sklearn.base import clone
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

from model_training.lib.algorithms import forests
from model_training.lib.core.threads import THREADS_ENV


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 6))
    return x, (x[:, 0] + rng.normal(size=300) > 0).astype(int)


class _Recording(RandomForestClassifier):
    seen: ClassVar[list] = []

    def fit(self, X, y, sample_weight=None):
        _Recording.seen.append(self.n_jobs)
        return super().fit(X, y, sample_weight=sample_weight)


class _Spy(forests._FitOnThreads, _Recording):
    pass


def test_fit_runs_on_the_run_threads_and_leaves_a_single_threaded_model(
    data, monkeypatch
):
    monkeypatch.setenv(THREADS_ENV, "2")
    _Recording.seen.clear()
    model = _Spy(n_estimators=10, random_state=0).fit(*data)
    assert _Recording.seen == [2]
    assert model.n_jobs is None  # one-row predictions pay no thread dispatch
    assert clone(model).get_params()["n_jobs"] is None
    _Recording.seen.clear()
    _Spy(n_estimators=10, random_state=0, n_jobs=1).fit(*data)
    assert _Recording.seen == [1]  # an explicit count is kept


@pytest.mark.parametrize(
    "kind",
    [
        forests.ThreadedRandomForestClassifier,
        forests.ThreadedRandomForestRegressor,
        forests.ThreadedBalancedRandomForestClassifier,
    ],
)
def test_the_model_does_not_depend_on_the_thread_count(kind, data, monkeypatch):
    x, y = data
    predictions = []
    for threads in ("1", "2"):
        monkeypatch.setenv(THREADS_ENV, threads)
        model = kind(n_estimators=20, random_state=3).fit(x, y)
        predictions.append(model.predict(x))
        assert model.n_jobs is None
    np.testing.assert_array_equal(predictions[0], predictions[1])


@pytest.mark.parametrize(
    ("kind", "plain", "classes"),
    [
        (forests.ThreadedRandomForestClassifier, RandomForestClassifier, 2),
        (forests.ThreadedRandomForestClassifier, RandomForestClassifier, 3),
        (forests.ThreadedRandomForestRegressor, RandomForestRegressor, None),
        (
            forests.ThreadedBalancedRandomForestClassifier,
            BalancedRandomForestClassifier,
            3,
        ),
    ],
)
def test_tree_by_tree_scores_are_scikit_learns_bit_for_bit(data, kind, plain, classes):
    x, y = data
    if classes == 3:
        y = np.digitize(x[:, 0] + x[:, 1], [-0.5, 0.5])
    elif classes is None:
        y = x[:, 0] * 2.0 + x[:, 2]
    params = {"n_estimators": 25, "random_state": 7, "n_jobs": 1}
    ours, theirs = kind(**params).fit(x, y), plain(**params).fit(x, y)
    score = "predict_proba" if classes else "predict"
    for rows in (x[:1], x[:1].astype(np.float32), x):
        np.testing.assert_array_equal(
            getattr(ours, score)(rows), getattr(theirs, score)(rows)
        )
        np.testing.assert_array_equal(ours.predict(rows), theirs.predict(rows))
    # a multi-output forest takes scikit-learn's own path
    if classes is None:
        two = np.column_stack([y, -y])
        np.testing.assert_array_equal(
            kind(**params).fit(x, two).predict(x),
            plain(**params).fit(x, two).predict(x),
        )


@pytest.mark.parametrize("max_features", [1.0, 0.5])
def test_the_isolation_forest_scores_tree_by_tree_as_scikit_learn_does(
    max_features, monkeypatch
):
    """Bit for bit scikit-learn's scores and decisions, one row and many, with
    and without feature subsampling; and it is what the registry builds."""
    from sklearn.ensemble import IsolationForest

    from model_training.lib.algorithms.detectors import _isolation_forest
    from model_training.lib.algorithms.forests import TreeByTreeIsolationForest

    rng = np.random.default_rng(0)
    x = rng.normal(size=(500, 6))
    x[:10] += 6
    new = rng.normal(size=(300, 6)) * 1.5
    params = {"n_estimators": 60, "max_features": max_features, "random_state": 0}
    ours = TreeByTreeIsolationForest(**params).fit(x)
    theirs = IsolationForest(**params).fit(x)
    calls = []
    original = IsolationForest._compute_score_samples

    def spy(self, X, subsample_features):
        calls.append(type(self).__name__)
        return original(self, X, subsample_features)

    for rows in (new[:1], new):
        assert np.array_equal(ours.score_samples(rows), theirs.score_samples(rows))
        assert np.array_equal(ours.predict(rows), theirs.predict(rows))
    monkeypatch.setattr(IsolationForest, "_compute_score_samples", spy)
    ours.score_samples(new[:1])
    theirs.score_samples(new[:1])
    assert calls == ["IsolationForest"]  # ours did not take scikit-learn's loop
    built = _isolation_forest({"n_estimators": 10}, 0, None)
    assert isinstance(built.detector, TreeByTreeIsolationForest)


@pytest.mark.parametrize(
    ("kind", "plain"),
    [
        (forests.ThreadedRandomForestClassifier, RandomForestClassifier),
        (forests.ThreadedRandomForestRegressor, RandomForestRegressor),
    ],
)
def test_a_forest_fit_ends_at_its_deadline_with_the_trees_it_has(data, kind, plain):
    """A random forest candidate of 36,000 rows took 84 s, 50 s past the
    candidates' checkpoint: with a deadline the trees grow in steps, the fit
    ends with the trees grown once it has passed, and they are the trees a
    single fit of that many grows (the same seeds)."""
    from model_training.lib.algorithms.early_stopping import StopAt

    x, y = data
    passed = StopAt(0.0)  # long past
    model = kind(n_estimators=100, random_state=4).fit(x, y, deadline=passed)
    grown = forests.TREES_PER_STEP
    assert passed.stopped_at == grown and len(model.estimators_) == grown
    assert model.get_params()["n_estimators"] == 100  # the configuration kept
    alone = plain(n_estimators=grown, random_state=4).fit(x, y)
    np.testing.assert_array_equal(model.predict(x), alone.predict(x))
    # a deadline far ahead: every tree, as without one
    ahead = StopAt(float("inf"))
    full = kind(n_estimators=60, random_state=4).fit(x, y, deadline=ahead)
    assert ahead.stopped_at is None and len(full.estimators_) == 60
    np.testing.assert_array_equal(
        full.predict(x), plain(n_estimators=60, random_state=4).fit(x, y).predict(x)
    )
    # a refit with a deadline starts again from no tree
    again = full.fit(x, y, deadline=StopAt(0.0))
    assert len(again.estimators_) == grown
