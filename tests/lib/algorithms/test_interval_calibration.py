"""Forecast intervals calibrated on the walk-forward folds: the conformal factor
reaches the nominal coverage out of fold, and the final forecaster carries it."""

from __future__ import annotations

import numpy as np
import pytest

from model_training.lib.algorithms.interval_calibration import (
    MIN_POINTS,
    interval_calibration,
    required_scales,
    scaled_bounds,
)


def test_the_required_scale_is_zero_at_the_mean_one_on_a_bound():
    truth = np.array([10.0, 12.0, 8.0, 14.0, 9.0, 11.0])
    mean = np.full(6, 10.0)
    lower, upper = np.full(6, 8.0), np.full(6, 12.0)
    upper[5] = 10.0  # a zero-width upper side: a value above it needs infinity
    assert required_scales(truth, mean, lower, upper).tolist() == [
        0.0,
        1.0,
        1.0,
        2.0,
        0.5,
        np.inf,
    ]


@pytest.mark.parametrize("spread", [0.5, 2.0])  # intervals too narrow, too wide
def test_the_factor_brings_out_of_fold_coverage_to_the_level(spread):
    rng = np.random.default_rng(0)
    n = 400
    mean = rng.normal(100, 5, n)
    truth = mean + rng.normal(0, 1, n)
    half = 1.645 * spread  # a 90 % interval of unit errors, scaled wrongly
    lower, upper = mean - half, mean + half
    record = interval_calibration(truth, mean, lower, upper, 0.9)
    assert record["points"] == n
    assert (record["coverage_before"] < 0.8) == (spread < 1)
    assert record["scale"] == pytest.approx(1 / spread, rel=0.15)
    # the finite-sample rank: at least the level, by at most one point more
    assert 0.9 <= record["coverage_after"] <= 0.9 + 1 / n + 1e-12
    new_lower, new_upper = scaled_bounds(mean, lower, upper, record["scale"])
    inside = (truth >= new_lower - 1e-9) & (truth <= new_upper + 1e-9)
    assert inside.mean() == pytest.approx(record["coverage_after"])


def test_too_few_or_unfinished_points_leave_the_intervals_alone():
    mean = np.zeros(MIN_POINTS - 1)
    record = interval_calibration(mean + 1, mean, mean - 1, mean + 1, 0.9)
    assert record["scale"] is None and "19 out-of-fold forecasts" in record["reason"]
    # NaN forecasts (a fold too short for the model) are left out of the count
    mean = np.zeros(MIN_POINTS + 5)
    mean[:10] = np.nan
    record = interval_calibration(np.ones_like(mean), mean, mean - 2, mean + 2, 0.9)
    assert record["points"] == MIN_POINTS - 5 and record["scale"] is None


def test_the_final_forecaster_carries_the_folds_factor():
    """An hourly load series' MSTL intervals covered 73 % of its walk-forward
    folds: the final model's intervals are widened by the factor those folds
    ask for, at the calibrated level only, and the record says so."""
    from model_training.lib.algorithms.cv import cv_splits
    from model_training.lib.core.frames import split_xy
    from model_training.lib.problems import get_problem
    from tests.lib.algorithms.test_forecasters import _pipeline, plan_for, series

    frame = series(120)
    plan = plan_for(frame, horizon=12)  # three folds of 12 months: 36 points
    x, y = split_xy(frame, plan)
    problem = get_problem("time_series")
    splits = cv_splits(frame, y, plan, 0)
    pipeline = _pipeline(plan, "seasonal_naive")
    model, info = problem.finalize(pipeline, x, y, plan, splits, None, None, 0)
    record = info["interval_calibration"]
    assert record["points"] == sum(len(held) for _, held in splits)
    assert record["scale"] is not None and record["scale"] != 1.0
    assert record["coverage_after"] >= 0.9
    # the same forecaster without the factor
    plain = problem.fit(_pipeline(plan, "seasonal_naive"), x, y)
    future = series(132)[120:]
    forecaster, bare = model.steps[-1][1], plain.steps[-1][1]
    mean, lower, upper, _ = forecaster.predict_with_interval(future, 0.9)
    mean0, lower0, upper0, _ = bare.predict_with_interval(future, 0.9)
    np.testing.assert_allclose(mean, mean0)
    np.testing.assert_allclose(upper - mean, record["scale"] * (upper0 - mean0))
    np.testing.assert_allclose(mean - lower, record["scale"] * (mean0 - lower0))
    # another level is not the one calibrated: as the model gives it
    _, lower80, _, _ = forecaster.predict_with_interval(future, 0.8)
    _, lower80_bare, _, _ = bare.predict_with_interval(future, 0.8)
    np.testing.assert_allclose(lower80, lower80_bare)
