"""The chosen model against the best constant on the selection's folds."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from model_training.lib.algorithms.cv import cv_splits
from model_training.lib.core.frames import split_xy
from model_training.lib.core.plan import build_plan
from model_training.lib.core.spec import ModelingSpec
from model_training.lib.data_quality.epic_builder import infer_schema
from model_training.lib.training.trivial import against_trivial


def _noise_regression(n: int = 90):
    rng = np.random.default_rng(0)
    frame = pl.DataFrame({"x": rng.normal(size=n), "y": rng.normal(10, 3, n)})
    schema = infer_schema(frame, "noise", target="y")
    spec = ModelingSpec(
        epic_id="noise",
        problem_type="regression",
        target="y",
        primary_metric="rmse",
        cross_validation={"n_splits": 3},
    )
    plan = build_plan(spec, schema, frame)
    _, y = split_xy(frame, plan)
    return plan, y, cv_splits(frame, y, plan, 0)


def _mean_rmse(y, splits) -> list[float]:
    """The training mean's RMSE on each fold, by hand."""
    return [
        float(np.sqrt(np.mean((y[valid] - y[train].mean()) ** 2)))
        for train, valid in splits
    ]


def test_a_model_no_better_than_the_mean_is_named_and_one_better_passes():
    plan, y, splits = _noise_regression()
    by_hand = _mean_rmse(y, splits)
    worse = {"model": "lightgbm", "cv_fold_scores": [v * 1.05 for v in by_hand]}
    record = against_trivial(plan, y, splits, worse, 60.0, 30.0, 0)
    assert record["baseline"] == "mean"
    assert record["cv_fold_scores"] == pytest.approx(by_hand)
    assert record["margin"] == pytest.approx(-0.05 * np.mean(by_hand))
    assert not record["beats"]
    assert record["note"].startswith(
        "lightgbm does not beat the trivial baseline mean by more than one standard error"
    )
    better = {"model": "ridge", "cv_fold_scores": [v * 0.5 for v in by_hand]}
    record = against_trivial(plan, y, splits, better, 60.0, 30.0, 0)
    assert record["beats"] and record["margin"] == pytest.approx(0.5 * np.mean(by_hand))
    assert record["note"].startswith("ridge beats the trivial baseline mean by")


def test_a_classifier_is_held_against_the_best_constant(xor_setup):
    parts, _, _, plan = xor_setup
    frame = parts["train"]
    _, y = split_xy(frame, plan)
    splits = cv_splits(frame, y, plan, 0)
    chosen = {"model": "random_forest", "cv_fold_scores": [0.9] * len(splits)}
    record = against_trivial(plan, y, splits, chosen, 100.0, 50.0, 0)
    assert record["baseline"] in {"majority_class", "stratified_random"}
    assert record["cv_mean"] == pytest.approx(0.5, abs=0.1)  # ROC-AUC of a constant
    assert record["beats"]


def test_unsupervised_problems_and_forecasts_without_their_rows_have_no_trivial_reference(
    xor_setup,
):
    plan = xor_setup[3]
    for problem_type in ("time_series", "clustering", "anomaly_detection"):
        other = plan.model_copy(
            update={"spec": plan.spec.model_copy(update={"problem_type": problem_type})}
        )
        assert against_trivial(other, np.zeros(3), [], {}, 1.0, 1.0, 0) is None


def test_a_forecast_is_held_against_the_naive_forecasts_on_its_own_folds():
    """MASE below 1 is no proof of beating the naive forecast over the
    horizon: the best of naive, seasonal naive and moving average is scored
    on the selection's walk-forward folds as the contenders are."""
    from functools import partial

    from model_training.lib.algorithms.cv_eval import fold_scores
    from model_training.lib.problems import get_problem
    from tests.lib.algorithms.test_forecasters import plan_for, series

    frame = series(96)
    plan = plan_for(frame, horizon=6)
    x, y = split_xy(frame, plan)
    splits = cv_splits(frame, y, plan, 0)
    problem = get_problem("time_series")
    by_protocol = {
        spec.name: fold_scores(
            spec.estimator, x, y, splits, plan, partial(problem.predict, plan=plan),
            lambda _: {},
        )
        for spec in problem.baselines(plan, 0)
    }  # fmt: skip
    best = min(by_protocol, key=lambda n: np.mean(by_protocol[n]))
    worse = {
        "model": "auto_arima",
        "cv_fold_scores": [v * 1.5 for v in by_protocol[best]],
    }
    record = against_trivial(plan, y, splits, worse, 60.0, 6.0, 0, x)
    assert record["baseline"] == best
    assert record["cv_fold_scores"] == pytest.approx(by_protocol[best])
    assert not record["beats"]
    assert (
        f"the {best} forecast does as well or better on this series" in (record["note"])
    )
    assert against_trivial(plan, y, splits, worse, 60.0, 6.0, 0) is None  # no rows
    better = {
        "model": "auto_ets",
        "cv_fold_scores": [v * 0.2 for v in by_protocol[best]],
    }
    assert against_trivial(plan, y, splits, better, 60.0, 6.0, 0, x)["beats"]
