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
