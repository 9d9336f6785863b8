"""Greedy ensemble selection, cross-fitted scores and the fitted ensembles."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from sklearn.base import clone
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import mean_squared_error, roc_auc_score
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from model_training.lib.algorithms.ensemble import (
    EnsembleClassifier,
    EnsembleRegressor,
    combine,
    cross_fitted,
    fitted_members,
    greedy_weights,
    is_ensemble,
)


def _complementary(n=400, seed=0):
    """Two noisy predictors of y whose errors are independent: their average
    is better than either; a third is biased noise."""
    rng = np.random.default_rng(seed)
    y = rng.normal(size=n)
    return y, [y + rng.normal(size=n), y + rng.normal(size=n), rng.normal(3, 1, n)]


def _mse(y):
    return lambda p: mean_squared_error(y, p)


def test_greedy_selection_averages_complementary_models_and_drops_noise():
    y, predictions = _complementary()
    weights, score = greedy_weights(predictions, _mse(y), False, rounds=10)
    assert weights[2] == 0
    assert weights[0] > 0.25 and weights[1] > 0.25
    assert weights.sum() == pytest.approx(1.0)
    best_single = min(mean_squared_error(y, p) for p in predictions)
    assert score < 0.7 * best_single
    assert score == pytest.approx(mean_squared_error(y, combine(predictions, weights)))


@pytest.mark.parametrize("seed", range(5))
def test_greedy_selection_is_never_worse_than_the_best_single_model(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 300)
    predictions = [
        np.clip(y * s + rng.normal(0, 1, 300), -3, 3) for s in (0.2, 0.5, 1.0)
    ]
    _weights, score = greedy_weights(
        predictions, lambda p: roc_auc_score(y, p), True, rounds=15
    )
    assert score >= max(roc_auc_score(y, p) for p in predictions) - 1e-12


def test_one_model_alone_when_it_dominates():
    y, _ = _complementary()
    perfect, noisy = y.copy(), y + 1.0
    weights, score = greedy_weights([noisy, perfect], _mse(y), False, rounds=5)
    assert list(weights) == [0.0, 1.0] and score == 0.0


def test_cross_fitted_weights_never_see_the_fold_they_score():
    y, predictions = _complementary(n=300)
    folds = np.array_split(np.random.default_rng(1).permutation(300), 3)
    splits = [(np.setdiff1d(np.arange(300), f), f) for f in folds]
    fold_predictions = [[p[f] for f in folds] for p in predictions]
    seen: list[np.ndarray] = []

    def score_rows(prediction, rows):
        seen.append(rows)
        return mean_squared_error(y[rows], prediction)

    scores, weights = cross_fitted(fold_predictions, splits, 3, score_rows, False, 8)
    assert len(scores) == 3 and len(weights) == 3
    for k, _fold in enumerate(folds):
        chosen_on = [r for r in seen if len(r) == 200]
        # every weight choice for fold k used the two other folds only
        assert any(
            set(r) == set(np.concatenate([folds[j] for j in range(3) if j != k]))
            for r in chosen_on
        )
    single = [mean_squared_error(y[f], predictions[0][f]) for f in folds]
    assert np.mean(scores) < np.mean(single)


def _frame(n=300, seed=0):
    rng = np.random.default_rng(seed)
    x = pl.DataFrame({"a": rng.random(n), "b": rng.random(n)})
    return x, rng


def test_the_classifier_averages_its_members_probabilities():
    x, rng = _frame()
    y = np.where(x["a"].to_numpy() + 0.3 * rng.random(300) > 0.6, "yes", "no")
    members = [
        LogisticRegression(),
        DecisionTreeClassifier(max_depth=2, random_state=0),
    ]
    ensemble = EnsembleClassifier(members=members, weights=[3, 1], names=["lr", "tree"])
    assert is_ensemble(ensemble) and is_ensemble(clone(ensemble))
    ensemble.fit(x, y)
    expected = (
        3 * clone(members[0]).fit(x, y).predict_proba(x)
        + clone(members[1]).fit(x, y).predict_proba(x)
    ) / 4
    assert np.allclose(ensemble.predict_proba(x), expected)
    assert list(ensemble.classes_) == ["no", "yes"]
    assert set(ensemble.predict(x)) <= {"no", "yes"}
    assert [w for _, w in fitted_members(ensemble)] == [0.75, 0.25]


def test_a_zero_weight_member_is_not_fitted_and_fit_params_reach_each_member():
    x, rng = _frame()
    y = x["a"].to_numpy() * 2 + rng.normal(0, 0.1, 300)
    weights = np.where(np.arange(300) < 150, 1.0, 0.0)
    ensemble = EnsembleRegressor(
        members=[LinearRegression(), DecisionTreeRegressor(max_depth=3)],
        weights=[1.0, 0.0],
    ).fit(x, y, member_fit_params=[{"sample_weight": weights}, {}])
    assert ensemble.members_[1] is None
    alone = LinearRegression().fit(x[:150], y[:150])
    assert np.allclose(ensemble.predict(x), alone.predict(x))


def test_an_ensemble_without_weights_for_each_member_is_refused():
    x, _ = _frame()
    with pytest.raises(ValueError, match="one weight per member"):
        EnsembleRegressor(members=[LinearRegression()], weights=[]).fit(x, np.ones(300))


def test_a_combined_forecaster_averages_its_members_and_never_looks_ahead():
    from model_training.lib.algorithms.ensemble import CombinedForecaster
    from model_training.lib.algorithms.registry import algorithm, build_pipeline
    from model_training.lib.core.frames import split_xy
    from model_training.lib.problems import get_problem
    from model_training.lib.problems.walk_forward import walk_forward
    from model_training.lib.training.ensembling import ensemble_estimator
    from tests.lib.algorithms.test_forecasters import plan_for, series

    frame = series(96)
    plan = plan_for(frame, horizon=6)
    members = [
        build_pipeline(plan, algorithm("time_series", name), {}, 0)
        for name in ("auto_ets", "auto_theta")
    ]
    config = {
        "members": [
            {"model": "auto_ets", "weight": 0.75},
            {"model": "auto_theta", "weight": 0.25},
        ]
    }
    pipeline = ensemble_estimator(plan, members, config)
    combined = pipeline.steps[-1][1]
    assert isinstance(combined, CombinedForecaster)
    assert combined.time_column == "month" and combined.horizon == 6
    problem = get_problem("time_series")
    x, y = split_xy(frame[:72], plan)
    model = problem.fit(pipeline, x, y)
    x_test, y_test = split_xy(frame[72:], plan)
    mean, bounds, _steps = walk_forward(model, x_test, y_test, plan)
    alone = [problem.fit(m, x, y) for m in members]
    parts = [walk_forward(m, x_test, y_test, plan)[0] for m in alone]
    assert np.allclose(mean, 0.75 * parts[0] + 0.25 * parts[1])
    assert (bounds[:, 0] < mean).all() and (mean < bounds[:, 1]).all()
    changed = y_test.copy()
    changed[6:] += 1000.0  # the second block and later
    after, _, _ = walk_forward(model, x_test, changed, plan)
    assert np.allclose(mean[:12], after[:12])  # no block saw its own values
