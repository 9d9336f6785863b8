"""The modeling plan: classes, CV strategy and what the data decides."""

from __future__ import annotations

import polars as pl
import pytest

from model_training.lib.core.plan import build_plan, resolve_cv_strategy
from model_training.lib.core.spec import ModelingSpec


def _spec(**changes) -> ModelingSpec:
    base = {
        "epic_id": "e",
        "problem_type": "binary_classification",
        "target": "y",
        "positive_class": "1",
        "primary_metric": "roc_auc",
    }
    return ModelingSpec.model_validate({**base, **changes})


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, "stratified_kfold"),
        ({"group_column": "g"}, "stratified_group_kfold"),
        ({"time_column": "t"}, "time_series"),
        (
            {
                "problem_type": "regression",
                "positive_class": None,
                "primary_metric": "r2",
            },
            "kfold",
        ),
        (
            {
                "problem_type": "regression",
                "positive_class": None,
                "primary_metric": "r2",
                "group_column": "g",
            },
            "group_kfold",
        ),
        ({"cross_validation": {"strategy": "kfold"}}, "kfold"),
    ],
)
def test_the_cv_strategy_follows_the_spec_and_the_data(changes, expected):
    assert resolve_cv_strategy(_spec(**changes)) == expected


def test_numeric_classes_sort_numerically_with_the_positive_class_last(xor_setup):
    _, schema, _, _ = xor_setup
    train = pl.DataFrame({"y": [10, 2, 1, 2, 10, 1], "a": [0.0] * 6})
    from model_training.lib.core.schema import ColumnInfo, FeatureSchema

    schema = FeatureSchema(
        epic_id="e",
        columns=[
            ColumnInfo(name="y", dtype="int", role="target"),
            ColumnInfo(name="a", dtype="float", role="feature"),
        ],
    )
    plan = build_plan(
        _spec(
            problem_type="multiclass_classification",
            positive_class=None,
            primary_metric="f1_macro",
        ),
        schema,
        train,
    )
    assert plan.classes == [1, 2, 10]
    binary = build_plan(
        _spec(positive_class="1"), schema, train.filter(pl.col("y") < 10)
    )
    assert binary.classes == [2, 1] and binary.positive_class == 1
    assert plan.numeric_features == ["a"] and plan.discrete_predictions


def _hourly(hours: int, **changes):
    import numpy as np

    from model_training.lib.core.schema import ColumnInfo, FeatureSchema

    times = [f"2024-01-{1 + h // 24:02d} {h % 24:02d}:00:00" for h in range(hours)]
    y = np.sin(np.arange(hours) * 2 * np.pi / 24) + np.arange(hours) * 0.001
    frame = pl.DataFrame({"t": times, "y": y})
    spec = _spec(
        problem_type="time_series",
        positive_class=None,
        primary_metric="mean_absolute_scaled_error",
        time_column="t",
        frequency="h",
        forecast_horizon=6,
        **changes,
    )
    schema = FeatureSchema(
        epic_id="e",
        columns=[
            ColumnInfo(name="t", dtype="string", role="time"),
            ColumnInfo(name="y", dtype="float", role="target"),
        ],
    )
    return build_plan(spec, schema, frame)


def test_a_series_without_a_seasonal_period_takes_the_one_its_frequency_implies():
    plan = _hourly(24 * 10)
    assert plan.spec.seasonal_period == 24
    # MASE's scale compares with the same hour a day before, not an hour before
    one_step = _hourly(24 * 10, seasonal_period=1)
    assert plan.mase_scale < one_step.mase_scale
    assert one_step.spec.seasonal_period == 1  # the spec's own value is kept
    assert _hourly(40).spec.seasonal_period is None  # under two days: no season


def test_categorical_features_with_more_than_fifty_categories_are_named():
    from model_training.lib.core.plan import MAX_ONE_HOT_COLUMNS
    from model_training.lib.core.schema import ColumnInfo, FeatureSchema

    n = 300
    train = pl.DataFrame(
        {
            "y": [i % 2 for i in range(n)],
            "city": [f"town{i % (MAX_ONE_HOT_COLUMNS + 1)}" for i in range(n)],
            "size": [f"s{i % MAX_ONE_HOT_COLUMNS}" for i in range(n)],
        }
    )
    schema = FeatureSchema(
        epic_id="e",
        columns=[
            ColumnInfo(name="y", dtype="int", role="target"),
            ColumnInfo(name="city", dtype="string", role="feature"),
            ColumnInfo(name="size", dtype="string", role="feature"),
        ],
    )
    spec = _spec(problem_type="regression", positive_class=None, primary_metric="rmse")
    plan = build_plan(spec, schema, train)
    assert plan.categorical_features == ["city", "size"]
    assert plan.many_category_features == ["city"]  # 51 categories; size has 50
