"""Splitters keep groups apart, keep time order and stratify classes."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from model_training.lib.algorithms.cv import cv_splits, order_for_cv
from model_training.lib.core.plan import ModelingPlan, resolve_cv_strategy
from model_training.lib.core.spec import ModelingSpec


def plan_for(strategy: str | None = None, **spec_fields) -> ModelingPlan:
    fields = {
        "epic_id": "x",
        "problem_type": "binary_classification",
        "target": "y",
        "positive_class": 1,
        "primary_metric": "roc_auc",
        **spec_fields,
    }
    spec = ModelingSpec(**fields)
    return ModelingPlan(
        spec=spec,
        numeric_features=["f"],
        categorical_features=[],
        classes=[0, 1],
        cv_strategy=strategy or resolve_cv_strategy(spec),
        greater_is_better=True,
    )


def frame(n: int = 120) -> pl.DataFrame:
    rng = np.random.default_rng(0)
    return pl.DataFrame(
        {
            "f": rng.random(n),
            "y": (rng.random(n) < 0.3).astype(int),
            "customer": rng.integers(0, 30, n).astype(str),
            "region": rng.choice(["n", "s", "e", "w", "c", "x"], n),
            "t": rng.permutation(n),
        }
    )


def test_auto_strategy_follows_the_spec():
    assert plan_for().cv_strategy == "stratified_kfold"
    assert plan_for(group_column="customer").cv_strategy == "stratified_group_kfold"
    assert plan_for(region_column="region").cv_strategy == "spatial"
    assert plan_for(time_column="t").cv_strategy == "time_series"
    regression = ModelingSpec(
        epic_id="x", problem_type="regression", target="y", primary_metric="rmse"
    )
    assert resolve_cv_strategy(regression) == "kfold"


def test_stratified_folds_keep_class_shares():
    data = frame()
    y = data["y"].to_numpy()
    for train, valid in cv_splits(data, y, plan_for(), seed=1):
        assert abs(y[valid].mean() - y.mean()) < 0.06
        assert not set(train) & set(valid)


@pytest.mark.parametrize(
    ("strategy", "column", "key"),
    [
        ("stratified_group_kfold", "customer", "group_column"),
        ("group_kfold", "customer", "group_column"),
        ("spatial", "region", "region_column"),
    ],
)
def test_groups_never_straddle_folds(strategy, column, key):
    data = frame()
    y = data["y"].to_numpy()
    groups = data[column].to_numpy()
    splits = cv_splits(data, y, plan_for(strategy, **{key: column}), seed=0)
    assert len(splits) == 5
    for train, valid in splits:
        assert not set(groups[train]) & set(groups[valid])


def test_time_series_folds_respect_time_and_gap():
    plan = plan_for(time_column="t", cross_validation={"n_splits": 4, "gap": 3})
    data = order_for_cv(frame(), plan)
    assert data["t"].is_sorted()
    t = data["t"].to_numpy()
    for train, valid in cv_splits(data, data["y"].to_numpy(), plan, seed=0):
        assert t[train].max() < t[valid].min()
        assert valid.min() - train.max() - 1 == 3  # the gap
        assert list(valid) == sorted(valid)  # never shuffled


def test_group_strategy_without_enough_groups():
    data = frame().with_columns(pl.lit("one").alias("customer"))
    with pytest.raises(ValueError, match="needs at least 5 groups"):
        cv_splits(
            data,
            data["y"].to_numpy(),
            plan_for("group_kfold", group_column="customer"),
            seed=0,
        )
