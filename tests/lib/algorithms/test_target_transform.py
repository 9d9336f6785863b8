"""A regressor fitted on log(1 + target): when the search may try it, what it
predicts, and early stopping on the log of the held-out targets."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from sklearn.base import clone
from sklearn.dummy import DummyRegressor

from model_training.lib.algorithms.early_stopping import early_stopped_fit
from model_training.lib.algorithms.registry import algorithm, build_pipeline
from model_training.lib.algorithms.target_transform import (
    LogTargetPipeline,
    inverse,
    target_transform_of,
    transform_choices,
)
from model_training.lib.core.frames import split_xy
from model_training.lib.core.plan import build_plan
from model_training.lib.core.spec import ModelingSpec
from model_training.lib.data_quality.epic_builder import infer_schema, split_frame


def price_frame(n: int = 400, seed: int = 0) -> pl.DataFrame:
    """Log-normal prices: log(price) is linear in the features."""
    rng = np.random.default_rng(seed)
    size = rng.uniform(0, 3, n)
    grade = rng.choice(["a", "b", "c"], n)
    log_price = 4 + 1.2 * size + (grade == "a") * 0.8 + rng.normal(0, 0.3, n)
    return pl.DataFrame(
        {
            "row_id": np.arange(n),
            "size": size.round(4),
            "grade": grade,
            "price": np.exp(log_price).round(2),
        }
    )


@pytest.fixture
def price_setup():
    return price_parts_and_plan()


def price_parts_and_plan():
    """Splits and plan of :func:`price_frame`, a regression on ``price``."""
    frame = price_frame()
    parts = split_frame(frame, seed=0)
    schema = infer_schema(
        frame, "prices", target="price", roles={"row_id": "identifier"}
    )
    spec = ModelingSpec(
        epic_id="prices",
        problem_type="regression",
        target="price",
        primary_metric="rmse",
        id_columns=["row_id"],
        cross_validation={"n_splits": 3},
        search={"n_trials": 4, "timeout_s": 600, "top_k": 1},
    )
    return parts, build_plan(spec, schema, parts["train"])


def test_the_search_tries_log1p_on_a_skewed_non_negative_target_only():
    rng = np.random.default_rng(0)
    skewed = rng.lognormal(0, 1, 500)
    symmetric = rng.normal(100, 10, 500)
    assert transform_choices(skewed, "auto", True) == ["none", "log1p"]
    assert transform_choices(symmetric, "auto", True) == ["none"]
    assert transform_choices(skewed - 1, "auto", True) == ["none"]  # negatives
    assert transform_choices(skewed, "auto", False) == ["none"]  # classification
    assert transform_choices(skewed, "none", True) == ["none"]
    # asked for: any non-negative target, never a negative one
    assert transform_choices(symmetric, "log1p", True) == ["log1p"]
    assert transform_choices(symmetric - 200, "log1p", True) == ["none"]
    assert transform_choices(np.full(50, 3.0), "log1p", True) == ["none"]


def test_a_log1p_pipeline_predicts_in_target_units(price_setup):
    parts, plan = price_setup
    x, y = split_xy(parts["train"], plan)
    ridge = algorithm("regression", "ridge")
    logged = build_pipeline(plan, ridge, {"alpha": 1.0, "target_transform": "log1p"}, 0)
    raw = build_pipeline(plan, ridge, {"alpha": 1.0}, 0)
    assert isinstance(logged, LogTargetPipeline)
    assert type(clone(logged)) is LogTargetPipeline
    assert target_transform_of(raw) == "none"
    logged.fit(x, y)
    assert target_transform_of(logged) == "log1p"
    x_test, y_test = split_xy(parts["test"], plan)
    inner = logged.steps[-1][1].predict(logged.steps[0][1].transform(x_test))
    predicted = logged.predict(x_test)
    # RMSE rewards the mean: exp of the log prediction times Duan's smearing
    # factor, for log noise of sd 0.3 about e^(0.3^2 / 2) = 1.046
    assert logged.smearing and 1.02 < logged.smearing_ < 1.08
    np.testing.assert_allclose(predicted, np.exp(inner) * logged.smearing_ - 1)
    # the median absolute error does not: expm1 alone
    by_median = plan.model_copy(
        update={
            "spec": plan.spec.model_copy(
                update={"primary_metric": "median_absolute_error"}
            )
        }
    )
    median = build_pipeline(by_median, ridge, {"target_transform": "log1p"}, 0)
    median.fit(x, y)
    assert not median.smearing and median.smearing_ == 1.0
    np.testing.assert_allclose(median.predict(x_test), np.expm1(inner))
    # the model learned log(price): its coefficient of size is the 1.2 generated
    size = list(logged.steps[0][1].get_feature_names_out()).index("num__size")
    assert logged.steps[-1][1].coef_[size] / x["size"].std() == pytest.approx(
        1.2, rel=0.1
    )
    # on a log-normal target it beats the same model fitted on raw prices
    raw.fit(x, y)
    error = np.sqrt(np.mean((predicted - y_test) ** 2))
    assert error < np.sqrt(np.mean((raw.predict(x_test) - y_test) ** 2))


def test_predictions_stay_within_zero_and_e_times_the_largest_target():
    np.testing.assert_allclose(inverse([-3.0, 0.5], 2.0), [0.0, np.expm1(0.5)])
    np.testing.assert_allclose(inverse([0.5], 2.0, 1.1), [np.exp(0.5) * 1.1 - 1])
    assert inverse([700.0], 2.0)[0] == pytest.approx(np.expm1(2.0))  # no overflow
    pipeline = LogTargetPipeline(
        [("model", DummyRegressor(strategy="constant", constant=50.0))]
    )
    pipeline.fit(np.zeros((3, 1)), np.array([0.0, 1.0, 9.0]))
    assert pipeline.predict(np.zeros((1, 1)))[0] == pytest.approx(
        np.expm1(np.log(10.0) + 1.0)
    )


def test_the_smearing_factor_is_never_below_one():
    """A fit off-centre on its own rows (here a constant above every log
    target) would give a factor below 1, shrinking every prediction."""
    pipeline = LogTargetPipeline(
        [("model", DummyRegressor(strategy="constant", constant=5.0))], smearing=True
    )
    pipeline.fit(np.zeros((3, 1)), np.array([0.0, 1.0, 9.0]))
    assert pipeline.smearing_ == 1.0


def test_a_negative_target_is_refused_by_name():
    pipeline = LogTargetPipeline([("model", DummyRegressor())])
    with pytest.raises(ValueError, match="non-negative target"):
        pipeline.fit(np.zeros((2, 1)), np.array([1.0, -2.0]))


@pytest.mark.parametrize("name", ["lightgbm", "catboost"])
def test_early_stopping_judges_the_log_of_the_held_out_targets(price_setup, name):
    parts, plan = price_setup
    x, y = split_xy(parts["train"], plan)
    algo = algorithm("regression", name)
    params = {algo.iterations_param: 300, "target_transform": "log1p"}
    pipeline = build_pipeline(plan, algo, params, 0)
    count = early_stopped_fit(pipeline, x, y, lambda _: {}, algo, False, 0)
    assert count is not None and 1 <= count <= 300
    model = pipeline.steps[-1][1]
    scores = (
        model.best_score_["valid_0"]["l2"]
        if name == "lightgbm"
        else model.get_best_score()["validation"]["RMSE"] ** 2
    )
    # on log prices (noise 0.3) the held-out squared error is below 1; on raw
    # prices (in the hundreds) it would be in the thousands
    assert scores < 1.0
