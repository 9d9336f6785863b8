"""Time-series forecasting: no look-ahead, walk-forward folds, MASE, intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest

from model_training.lib.algorithms.cv import cv_splits
from model_training.lib.algorithms.forecasters import (
    NaiveForecaster,
    lag_features,
    training_matrix,
)
from model_training.lib.algorithms.lag_forecaster import LagRegressor
from model_training.lib.algorithms.registry import algorithm, build_pipeline
from model_training.lib.algorithms.statsforecast_forecaster import StatsForecaster
from model_training.lib.core.frames import split_xy
from model_training.lib.core.metrics import compute_metrics
from model_training.lib.core.plan import build_plan
from model_training.lib.core.schema import ColumnInfo, FeatureSchema
from model_training.lib.core.spec import ModelingSpec
from model_training.lib.data_quality.checks import run_checks
from model_training.lib.problems import get_problem
from model_training.lib.problems.walk_forward import walk_forward
from tests.conftest import conf_params

THRESHOLDS = conf_params("data_validation").thresholds


def series(n: int = 120, seed: int = 0, start: str = "2000-01-01") -> pl.DataFrame:
    """Monthly trend + seasonality + AR(1) noise."""
    rng = np.random.default_rng(seed)
    noise = np.zeros(n)
    for t in range(1, n):
        noise[t] = 0.5 * noise[t - 1] + rng.normal(0, 1.0)
    t = np.arange(n)
    y = 50 + 0.3 * t + 5 * np.sin(2 * np.pi * t / 12) + noise
    months = pd.date_range(start, periods=n, freq="MS")
    return pl.DataFrame({"month": [m.date().isoformat() for m in months], "y": y})


def plan_for(frame: pl.DataFrame, horizon: int = 6, **extra):
    """The plan of a monthly series ``y`` by ``month``; ``extra`` spec keys
    (``frequency``, ``seasonal_period``, ...) replace the monthly ones."""
    gap = extra.pop("gap", 0)
    spec = ModelingSpec(
        **{
            "epic_id": "ts",
            "problem_type": "time_series",
            "target": "y",
            "primary_metric": "mase",
            "time_column": "month",
            "frequency": "MS",
            "seasonal_period": 12,
            "forecast_horizon": horizon,
            "cross_validation": {"n_splits": 3, "gap": gap},
            **extra,
        }
    )
    return build_plan(spec, _schema(), frame)


def test_lag_features_of_row_t_use_only_values_before_t():
    y = np.arange(40, dtype=float) ** 1.5
    lags, windows = [1, 2, 12], [3, 6]
    rows, target = training_matrix(y, lags, windows)
    start = len(y) - len(target)
    for i, t in enumerate(range(start, len(y))):
        changed = y.copy()
        changed[t:] = -999.0  # the value at t and everything later
        assert np.array_equal(rows[i], lag_features(changed[:t], lags, windows))
        assert rows[i][0] == y[t - 1] and rows[i][2] == y[t - 12]
        assert target[i] == y[t]


@pytest.mark.parametrize(
    "kind", ["gbm", "auto_arima", "auto_ets", "auto_theta", "mstl", "seasonal_naive"]
)
def test_walk_forward_forecasts_never_see_their_own_block_or_later(kind):
    frame = series(96)
    plan = plan_for(frame, horizon=6)
    train, test = frame[:72], frame[72:]
    pipeline = _pipeline(plan, kind)
    problem = get_problem("time_series")
    x_train, y_train = split_xy(train, plan)
    model = problem.fit(pipeline, x_train, y_train)
    x_test, y_test = split_xy(test, plan)
    before, _, steps = walk_forward(model, x_test, y_test, plan)
    assert steps.tolist() == [1, 2, 3, 4, 5, 6] * 4
    for block in range(4):
        changed = y_test.copy()
        changed[block * 6 :] += 1000.0  # this block and every later value
        after, _, _ = walk_forward(model, x_test, changed, plan)
        upto = (block + 1) * 6
        assert np.allclose(before[:upto], after[:upto]), f"block {block} looked ahead"
        if block == 0:  # later blocks do use the values before them
            assert not np.allclose(before[upto:], after[upto:])


def _pipeline(plan, kind):
    from imblearn.pipeline import Pipeline

    from model_training.lib.algorithms.registry import configure_forecaster

    if kind == "seasonal_naive":
        return Pipeline(
            [("model", configure_forecaster(NaiveForecaster("seasonal_naive"), plan))]
        )
    name = {"gbm": "gbm_lags"}.get(kind, kind)
    params = {"max_iter": 50} if kind == "gbm" else {}
    return build_pipeline(plan, algorithm("time_series", name), params, 0)


def test_walk_forward_cv_folds_respect_time_with_the_horizon_and_gap():
    frame = series(100)
    plan = plan_for(frame, horizon=6, gap=2)
    assert plan.cv_strategy == "time_series"
    _, y = split_xy(frame, plan)
    folds = cv_splits(frame, y, plan, 0)
    assert len(folds) == 3
    previous_end = -1
    for train_rows, valid_rows in folds:
        assert len(valid_rows) == 6  # one horizon
        assert train_rows.max() + 2 < valid_rows.min()  # the gap, never shuffled
        assert np.array_equal(train_rows, np.arange(train_rows.max() + 1))  # expanding
        assert valid_rows.min() > previous_end
        previous_end = valid_rows.max()


def test_seasonal_naive_reproduces_a_hand_computed_mase():
    # train: two seasons of 4; the in-sample seasonal-naive errors are |y_t - y_{t-4}|
    y_train = np.array([10, 20, 30, 40, 12, 22, 33, 41], dtype=float)
    scale = np.mean([2, 2, 3, 1])  # 2.0
    months = pd.date_range("2020-01-01", periods=12, freq="MS")
    frame = pl.DataFrame(
        {
            "month": [m.date().isoformat() for m in months],
            "y": [*y_train, 15, 21, 36, 40],
        }
    )
    plan = plan_for(frame[:8], horizon=4).model_copy(
        update={
            "spec": plan_for(frame[:8], horizon=4).spec.model_copy(
                update={"seasonal_period": 4}
            )
        }
    )
    plan = build_plan(plan.spec, _schema(), frame[:8])
    assert plan.mase_scale == pytest.approx(scale)
    model = _pipeline(plan, "seasonal_naive")
    problem = get_problem("time_series")
    x, y = split_xy(frame[:8], plan)
    model = problem.fit(model, x, y)
    x_test, y_test = split_xy(frame[8:], plan)
    forecast, _, _ = walk_forward(model, x_test, y_test, plan)
    assert forecast.tolist() == [12, 22, 33, 41]  # one season earlier
    mae = np.mean(np.abs(np.array([15, 21, 36, 40]) - np.array([12, 22, 33, 41])))
    got = problem.score(model, x_test, y_test, plan)
    assert got["mean_absolute_scaled_error"] == pytest.approx(mae / scale)  # 2.5 / 2


def _schema(*extra: ColumnInfo) -> FeatureSchema:
    """A monthly series ``y`` by ``month``, plus any extra columns."""
    return FeatureSchema(
        epic_id="ts",
        columns=[
            ColumnInfo(name="month", dtype="string", role="time"),
            ColumnInfo(name="y", dtype="float", role="target"),
            *extra,
        ],
    )


STORE = ColumnInfo(name="store", dtype="string", role="group")


@pytest.mark.parametrize("kind", ["auto_arima", "auto_ets", "mstl", "gbm"])
def test_prediction_intervals_cover_roughly_their_nominal_rate(kind):
    coverages = []
    for seed in range(3):
        frame = series(180, seed=seed)
        plan = plan_for(frame, horizon=6)
        problem = get_problem("time_series")
        x, y = split_xy(frame[:120], plan)
        model = problem.fit(_pipeline(plan, kind), x, y)
        x_test, y_test = split_xy(frame[120:], plan)
        mean, bounds, _ = walk_forward(model, x_test, y_test, plan)
        coverages.append(
            compute_metrics(
                ["interval_coverage"], y_test, mean, bounds, plan.metric_context
            )["interval_coverage"]
        )
    # nominal 90 %, roughly, on 3 x 60 walk-forward forecasts (the lag model's
    # empirical intervals under-cover, about 0.8)
    assert 0.75 <= np.mean(coverages) <= 0.99, coverages


@pytest.mark.parametrize("kind", ["auto_arima", "auto_ets", "auto_theta", "mstl"])
def test_statsforecast_models_apply_their_fit_to_a_new_history_with_intervals(kind):
    """Walk-forward applies the fitted model to each new history (``forward``),
    never refits; the intervals are the model's own and contain the forecast."""
    frame = series(96)
    model = StatsForecaster(
        kind=kind, seasonal_period=12, horizon=6, time_column="month", frequency="MS"
    )
    x, y = frame.select("month"), frame.get_column("y").to_numpy()
    model.fit(x[:72], y[:72])
    fitted = model.model_
    times = pd.DatetimeIndex(pd.to_datetime(frame.get_column("month").to_numpy()))
    mean, lower, upper, steps = model.forecast_with_interval(
        y[:84], None, times[:84], x[84:90]
    )
    assert steps.tolist() == [1, 2, 3, 4, 5, 6] and np.isfinite(mean).all()
    assert (lower < mean).all() and (mean < upper).all()
    assert model.model_ is fitted  # nothing re-estimated
    # the forecast follows the new history, not the fitted one
    assert not np.allclose(mean, model.predict(x[72:78]))


def test_mstl_drops_seasons_longer_than_half_the_history():
    model = StatsForecaster(
        kind="mstl", seasonal_period=12, horizon=3, time_column="month", frequency="D"
    )
    assert model._periods(60) == [12, 7]  # 365 cannot be estimated from 60 days


@pytest.mark.parametrize("kind", ["auto_ets", "auto_theta", "mstl", "auto_arima"])
def test_a_history_too_short_for_its_season_is_still_forecast(kind):
    """62 weeks cannot estimate a 52-week season: the model drops it, and
    walk-forward forecasts from that model need two of its own seasons, not
    two years (every forecast of an unseen weekly epic was nan)."""
    from model_training.lib.problems import get_problem

    weeks = pd.date_range("2022-01-03", periods=70, freq="W-MON")
    rng = np.random.default_rng(0)
    frame = pl.DataFrame(
        {
            "month": [w.date().isoformat() for w in weeks],
            "y": 50 + 0.2 * np.arange(70) + rng.normal(0, 1, 70),
        }
    )
    plan = plan_for(frame, horizon=4, frequency="W-MON", seasonal_period=52)
    problem = get_problem("time_series")
    x, y = split_xy(frame[:62], plan)
    model = problem.fit(_pipeline(plan, kind), x, y)
    xv, yv = split_xy(frame[62:], plan)
    mean, scores = problem.evaluation_predictions(model, xv, yv, plan)
    assert np.isfinite(mean).all() and np.isfinite(scores[:, :2]).all()


def test_seasonal_arima_beyond_twelve_periods_models_the_stl_adjusted_series():
    """A 48-period seasonal ARIMA takes minutes per fit: half-hourly series get
    ARIMA on the series without its seasons (STL), still with intervals."""
    from statsforecast.models import MSTL, AutoARIMA

    half_hourly = StatsForecaster(
        kind="auto_arima", horizon=48, time_column="t", frequency="30min"
    )
    assert isinstance(half_hourly._model(2000), MSTL)
    assert half_hourly._model(2000).season_length == [48, 336]
    hourly = StatsForecaster(kind="auto_arima", time_column="t", frequency="h")
    assert isinstance(hourly._model(2000), MSTL)
    for frequency in ("MS", "QS", "D"):  # 12, 4 and 7 periods: seasonal ARIMA
        model = StatsForecaster(kind="auto_arima", time_column="t", frequency=frequency)
        assert isinstance(model._model(2000), AutoARIMA)
    n = 48 * 10
    times = pd.date_range("2024-01-01", periods=n, freq="30min")
    rng = np.random.default_rng(0)
    y = 10 + 3 * np.sin(2 * np.pi * np.arange(n) / 48) + rng.normal(0, 0.3, n)
    x = pl.DataFrame({"t": times})
    half_hourly.fit(x[: n - 48], y[: n - 48])
    mean, lower, upper, steps = half_hourly.predict_with_interval(x[n - 48 :])
    assert steps.tolist() == list(range(1, 49))
    assert (lower < mean).all() and (mean < upper).all()
    # the daily cycle is forecast, not flattened: within the noise of the truth
    assert np.sqrt(np.mean((mean - y[n - 48 :]) ** 2)) < 1.0


@pytest.mark.parametrize("kind", ["gbm", "mlp"])
def test_lag_regressor_forecasts_every_origin_at_once_as_one_by_one(kind):
    """The interval's hold-out errors forecast all origins in one pass per step;
    the forecasts are those of one recursive forecast per origin."""
    from model_training.lib.algorithms.forecasters import Forecaster

    n = 200
    times = pd.date_range("2024-01-01", periods=n, freq="h")
    rng = np.random.default_rng(1)
    y = 10 + np.sin(np.arange(n) * 2 * np.pi / 24) + rng.normal(0, 0.2, n)
    cov = rng.normal(size=(n, 2))
    model = LagRegressor(
        kind=kind,
        max_iter=30,
        seasonal_period=24,
        horizon=6,
        frequency="h",
        known_covariates=("known",),
        lagged_covariates=("lagged",),
    )
    model._fit(y[:150], cov[:150], times[:150])
    origins = np.arange(150, n - 1)  # the last ones have fewer than 6 periods left
    together = model._forecast_origins(y, cov, times, origins, 6)
    one_by_one = Forecaster._forecast_origins(model, y, cov, times, origins, 6)
    assert [len(f) for f in together] == [len(f) for f in one_by_one]
    assert [len(f) for f in together][-3:] == [4, 3, 2]
    for a, b in zip(together, one_by_one, strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-9)


def test_times_written_with_and_without_a_time_of_day_are_read_alike():
    from model_training.lib.algorithms.forecasters import times_of

    frame = pl.DataFrame({"t": ["2024-01-01", "2024-01-01T00:30:00"]})
    assert times_of(frame, "t").tolist() == [
        pd.Timestamp("2024-01-01 00:00"),
        pd.Timestamp("2024-01-01 00:30"),
    ]


def test_lag_regressor_refuses_a_timestamp_off_the_grid():
    frame = series(60)
    model = LagRegressor(
        kind="gbm",
        n_lags=3,
        windows=(3,),
        max_iter=20,
        seasonal_period=12,
        time_column="month",
        frequency="MS",
    ).fit(frame.select("month"), frame.get_column("y").to_numpy())
    with pytest.raises(ValueError, match="not on the 'MS' grid"):
        model.predict(pl.DataFrame({"month": ["2005-01-15"]}))


def test_validation_names_gaps_and_duplicates_with_their_dates():
    frame = series(48)
    train = pl.concat([frame[:10], frame[9:10], frame[12:30]])  # duplicate, then a gap
    validation, test = frame[30:40], frame[40:]
    plan = plan_for(frame)
    checks = run_checks(
        {"train": train, "validation": validation}, _schema(), plan.spec, THRESHOLDS
    )
    check = next(c for c in checks if c.name == "regular_timestamps")
    assert check.status == "fail"
    text = " ".join(p.what for p in check.problems)
    assert "2000-10-01" in text  # the duplicated month
    assert "2000-11-01" in text and "2000-12-01" in text  # the missing months
    ok = run_checks(
        {"train": frame[:30], "validation": validation},
        _schema(),
        plan.spec,
        THRESHOLDS,
    )
    assert next(c for c in ok if c.name == "regular_timestamps").status == "pass"
    assert test.height == 8


def test_a_lagged_covariate_is_read_at_the_horizon_and_never_ahead():
    rng = np.random.default_rng(1)
    n, horizon = 150, 4
    driver = rng.normal(0, 3, n).cumsum() * 0.1 + rng.normal(0, 2, n)
    y = np.r_[np.zeros(horizon), driver[:-horizon]] + rng.normal(0, 0.2, n)
    months = pd.date_range("2000-01-01", periods=n, freq="MS")
    frame = pl.DataFrame(
        {"month": [m.date().isoformat() for m in months], "driver": driver, "y": y}
    )
    schema = _schema(ColumnInfo(name="driver", dtype="float", role="feature"))
    spec = ModelingSpec(
        epic_id="ts",
        problem_type="time_series",
        target="y",
        primary_metric="mae",
        time_column="month",
        frequency="MS",
        forecast_horizon=horizon,
        cross_validation={"n_splits": 3},
    )
    plan = build_plan(spec, schema, frame)
    pipeline = build_pipeline(
        plan, algorithm("time_series", "gbm_lags"), {"n_lags": 3, "max_iter": 200}, 0
    )
    assert pipeline[-1].lagged_covariates == ("driver",)
    problem = get_problem("time_series")
    x, target = split_xy(frame[:110], plan)
    model = problem.fit(pipeline, x, target)
    x_test, y_test = split_xy(frame[110:], plan)
    before, _, _ = walk_forward(model, x_test, y_test, plan)
    # the model uses the driver: far better than the naive forecast
    naive = np.abs(y_test[1:] - y_test[:-1]).mean()
    assert np.abs(y_test - before).mean() < 0.6 * naive
    # changing the driver from a block's first period on changes nothing in it
    for block in range(0, len(y_test), horizon):
        changed = x_test.with_columns(
            pl.when(pl.int_range(pl.len()) >= block)
            .then(pl.col("driver") + 100.0)
            .otherwise(pl.col("driver"))
        )
        after, _, _ = walk_forward(model, changed, y_test, plan)
        upto = block + horizon
        assert np.allclose(before[:upto], after[:upto]), (
            f"block at {block} looked ahead"
        )


def panel(n: int = 72, names=("A", "B", "C")) -> pl.DataFrame:
    """Several monthly series of different levels, rows sorted by month."""
    parts = []
    for i, name in enumerate(names):
        single = series(n, seed=i).with_columns(
            (pl.col("y") + 100.0 * i).alias("y"), pl.lit(name).alias("store")
        )
        parts.append(single)
    return pl.concat(parts).sort(["month", "store"])


def panel_plan(frame: pl.DataFrame, horizon: int = 6):
    schema = _schema(STORE)
    spec = ModelingSpec(
        epic_id="ts",
        problem_type="time_series",
        target="y",
        primary_metric="mase",
        time_column="month",
        series_column="store",
        frequency="MS",
        seasonal_period=12,
        forecast_horizon=horizon,
        cross_validation={"n_splits": 3},
    )
    return build_plan(spec, schema, frame)


def test_several_series_are_forecast_each_from_its_own_history():
    frame = panel()
    plan = panel_plan(frame)
    assert "store" not in plan.features
    # MASE scale: seasonal differences within each series, never across
    per_series = []
    for group in frame.partition_by("store"):
        values = group.sort("month")["y"].to_numpy()
        per_series.append(np.abs(values[12:] - values[:-12]))
    assert plan.mase_scale == pytest.approx(np.concatenate(per_series).mean())
    train, test = frame[: 3 * 54], frame[3 * 54 :]
    problem = get_problem("time_series")
    pipeline = build_pipeline(plan, algorithm("time_series", "auto_arima"), {}, 0)
    x, y = split_xy(train, plan)
    model = problem.fit(pipeline, x, y)
    forecaster = model[-1]
    assert set(forecaster.models_) == {"A", "B", "C"}
    x_test, y_test = split_xy(test, plan)
    before, bounds, steps = walk_forward(model, x_test, y_test, plan)
    assert np.isfinite(before).all() and (bounds[:, 0] <= bounds[:, 1]).all()
    # each series keeps its level: C's forecasts sit about 200 above A's
    ids = x_test.get_column("store").to_numpy()
    assert before[ids == "C"].mean() - before[ids == "A"].mean() == pytest.approx(
        200, abs=15
    )
    assert sorted(set(steps.tolist())) == [1, 2, 3, 4, 5, 6]
    # changing series B from its second block on moves nothing in A or C, nor
    # B's first block
    b_rows = np.flatnonzero(ids == "B")
    changed = y_test.copy()
    changed[b_rows[6:]] += 1000.0
    after, _, _ = walk_forward(model, x_test, changed, plan)
    untouched = np.setdiff1d(np.arange(len(ids)), b_rows[12:])
    assert np.allclose(before[untouched], after[untouched])
    # the package forecasts by (time, series), and refuses an unknown series
    mean, scores = problem.predict(model, x_test.head(6), plan)
    assert np.isfinite(mean).all() and scores.shape == (6, 3)
    unknown = x_test.head(1).with_columns(pl.lit("Z").alias("store"))
    with pytest.raises(ValueError, match="series 'Z' was not in the training data"):
        problem.predict(model, unknown, plan)


def test_several_series_cv_blocks_hold_one_horizon_of_every_series():
    frame = panel(60)
    plan = panel_plan(frame, horizon=4)
    _, y = split_xy(frame, plan)
    for train_rows, valid_rows in cv_splits(frame, y, plan, 0):
        assert len(valid_rows) == 4 * 3
        assert train_rows.max() < valid_rows.min()


def test_gaps_are_named_per_series():
    frame = panel(40)
    plan = panel_plan(frame)
    broken = frame.filter(
        ~((pl.col("store") == "B") & (pl.col("month") == "2000-05-01"))
    )
    schema = _schema(STORE)
    checks = run_checks(
        {"train": broken[:90], "validation": broken[90:]}, schema, plan.spec, THRESHOLDS
    )
    check = next(c for c in checks if c.name == "regular_timestamps")
    assert check.status == "fail"
    (problem,) = check.problems
    assert "(series B)" in problem.where and "2000-05-01" in problem.what


@pytest.mark.parametrize("kind", ["gbm", "mlp"])
def test_lag_regressor_on_a_short_history_uses_the_lags_it_can_feed(kind):
    """Twelve lags on twelve points left no training row (a panel's firm of
    twelve years in a training fold): the lags and windows are cut to what
    leaves FIT_ROWS rows, and the forecast reads the same ones."""
    from model_training.lib.algorithms.lag_forecaster import FIT_ROWS

    frame = series(12)
    model = LagRegressor(
        kind=kind,
        max_iter=20,
        seasonal_period=12,
        horizon=3,
        time_column="month",
        frequency="MS",
    ).fit(frame.select("month"), frame.get_column("y").to_numpy())
    assert model._lags() == [1, 2] and model._windows() == []
    assert model.max_lag_ == 12 - FIT_ROWS
    future = pl.DataFrame({"month": ["2001-01-01", "2001-02-01", "2001-03-01"]})
    assert np.isfinite(model.predict(future)).all()
    long = LagRegressor(kind=kind, max_iter=20, seasonal_period=12).fit_history(
        np.arange(60.0), None, pd.date_range("2000-01-01", periods=60, freq="D")
    )
    assert long._lags() == list(range(1, 13)) and long._windows() == [3, 12]


def test_a_statistical_forecaster_on_too_short_a_series_says_so():
    """statsforecast's AutoETS says only "tiny datasets" (a panel's firm of
    a few annual points in its first fold)."""
    from model_training.lib.algorithms.statsforecast_forecaster import StatsForecaster

    model = StatsForecaster(kind="auto_ets", frequency="YS")
    times = pd.date_range("2000-01-01", periods=3, freq="YS")
    with pytest.raises(ValueError, match="3 points are too few for auto_ets"):
        model.fit_history(np.array([1.0, 2.0, 4.0]), None, times)
