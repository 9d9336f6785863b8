"""Early stopping: boosted trees learn their number of iterations in tuning,
and the refit carries it, scaled to its rows."""

from __future__ import annotations

import pytest

from model_training.lib.algorithms.early_stopping import carried_iterations
from model_training.lib.training.selection import configuration
from model_training.lib.training.tuning import tune_models
from tests.conftest import conf_params


@pytest.mark.parametrize(
    ("name", "param", "cap"),
    [
        ("lightgbm", "n_estimators", 400),
        ("catboost", "iterations", 400),
        ("hist_gradient_boosting", "max_iter", 400),
    ],
)
def test_tuning_stores_the_learned_iteration_count(xor_setup, name, param, cap):
    parts, _, _, plan = xor_setup
    spec = plan.spec.model_copy(
        update={"search": plan.spec.search.model_copy(update={"n_trials": 1})}
    )
    plan = plan.model_copy(update={"spec": spec})
    options = conf_params("tuning", replace={"search_spaces": {name: {}}}, env=None)
    defaults = {name: {param: cap, "learning_rate": 0.3}}
    result = tune_models(plan, parts["train"], [name], defaults, options, seed=0)
    learned = result["models"][0]["learned_iterations"]
    assert learned["param"] == param
    assert len(learned["per_fold"]) == plan.spec.cross_validation.n_splits
    assert all(1 <= n <= cap for n in learned["per_fold"])
    assert min(learned["per_fold"]) < cap  # it stopped before the cap somewhere
    config = configuration(result["models"][0], defaults, n_rows=300)
    assert config["params"][param] == carried_iterations(learned, 300)


def test_the_carried_count_scales_with_rows_at_most_double():
    learned = {"per_fold": [100, 120], "inner_rows": 150.0}
    assert carried_iterations(learned, 150) == 110
    assert carried_iterations(learned, 225) == 165
    assert carried_iterations(learned, 10_000) == 220
    assert carried_iterations(learned, 50) == 110  # never fewer than learned


@pytest.mark.parametrize("imbalance", ["smote", "undersample"])
def test_early_stopping_works_with_a_resampler_in_the_pipeline(xor_setup, imbalance):
    """The held-out rows pass the preprocessing, not the resampler (a pipeline
    ending in SMOTE has no transform): every such LightGBM trial had failed.
    (CatBoost takes no resampler: it reads categories natively.)"""
    name = "lightgbm"
    from model_training.lib.algorithms.early_stopping import early_stopped_fit
    from model_training.lib.algorithms.registry import (
        algorithm,
        build_pipeline,
        fit_params,
    )
    from model_training.lib.core.frames import split_xy

    parts, _, _, plan = xor_setup
    algo = algorithm("classification", name)
    params = {algo.iterations_param: 200, "learning_rate": 0.3}
    pipeline = build_pipeline(plan, algo, params, 0, imbalance=imbalance)
    x, y = split_xy(parts["train"], plan)
    learned = early_stopped_fit(
        pipeline,
        x,
        y,
        lambda y_fit: fit_params(plan, imbalance, y_fit),
        algo,
        stratify=True,
        seed=0,
    )
    assert 1 <= learned <= 200
    assert pipeline.predict_proba(x[:5]).shape == (5, 2)


@pytest.mark.parametrize(
    ("counts", "undersample"),
    [
        ([150, 90, 53, 7], True),  # 28 rows reach the model: 3 held < 4 classes
        ([8] * 15, False),  # 120 rows, 15 classes: 12 held < 15
        ([150, 1], False),  # a class of one row cannot be stratified
    ],
)
def test_hist_gradient_boosting_fits_without_stopping_where_its_split_cannot_be_drawn(
    counts, undersample
):
    """Where HistGradientBoosting's own stratified inner split is impossible,
    the fit goes ahead without early stopping (every such tuning trial failed)."""
    import numpy as np
    from imblearn.pipeline import Pipeline
    from imblearn.under_sampling import RandomUnderSampler
    from sklearn.ensemble import HistGradientBoostingClassifier

    from model_training.lib.algorithms.early_stopping import early_stopped_fit
    from model_training.lib.algorithms.registry import algorithm

    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(len(counts)), counts)
    x = rng.normal(size=(len(y), 3)) + y[:, None]
    steps = [("resample", RandomUnderSampler(random_state=0))] if undersample else []
    model = HistGradientBoostingClassifier(max_iter=20, random_state=0)
    pipeline = Pipeline([*steps, ("model", model)])
    algo = algorithm("classification", "hist_gradient_boosting")
    learned = early_stopped_fit(
        pipeline, x, y, lambda _: {}, algo, stratify=True, seed=0
    )
    assert learned is None
    assert model.n_iter_ == 20
    assert set(pipeline.predict(x)) <= set(range(len(counts)))


def test_hist_gradient_boosting_still_stops_early_where_its_split_can_be_drawn():
    import numpy as np
    from imblearn.pipeline import Pipeline
    from imblearn.under_sampling import RandomUnderSampler
    from sklearn.ensemble import HistGradientBoostingClassifier

    from model_training.lib.algorithms.early_stopping import early_stopped_fit
    from model_training.lib.algorithms.registry import algorithm

    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], [200, 120, 60])
    x = rng.normal(size=(len(y), 3)) + y[:, None]
    model = HistGradientBoostingClassifier(max_iter=400, random_state=0)
    pipeline = Pipeline(
        [("resample", RandomUnderSampler(random_state=0)), ("model", model)]
    )
    algo = algorithm("classification", "hist_gradient_boosting")
    learned = early_stopped_fit(
        pipeline, x, y, lambda _: {}, algo, stratify=True, seed=0
    )
    assert learned == model.n_iter_ < 400
