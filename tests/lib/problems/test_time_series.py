"""Time series: the card's forecast section and output line."""

from __future__ import annotations

import numpy as np
import pytest

from model_training.lib.problems import get_problem


def test_the_forecast_section_reports_horizon_interval_and_baselines():
    ts = get_problem("time_series")
    spec = {
        "problem_type": "time_series",
        "primary_metric": "mean_absolute_scaled_error",
        "forecast_horizon": 6,
        "frequency": "MS",
        "seasonal_period": 12,
    }
    performance = {
        "forecast": {
            "interval": {"coverage": 0.875, "mean_width": 12.5},
            "by_horizon_step": {"1": {"mae": 1.0}, "6": {"mae": 3.0}},
        },
        "baselines_on_test": {"seasonal_naive": {"mean_absolute_scaled_error": 1.2}},
        "metrics": {"test": {"mean_absolute_scaled_error": 0.8}},
    }
    text = "\n".join(ts.card_sections(spec, performance))
    assert "up to **6** periods of `MS`" in text
    assert "covered 88% of test values" in text
    assert "MAE 1 one step ahead, 3 at step 6" in text
    assert "model 0.800; seasonal_naive 1.200" in text
    assert "forecast" in ts.card_output(None) and "class" not in ts.card_output(None)


def test_other_problem_types_have_no_forecast_section():
    for name in ("regression", "binary_classification", "clustering"):
        assert get_problem(name).card_sections({}, {}) == []


def test_example_rows_of_a_half_hourly_series_write_every_stamp_alike():
    """The registered model's input example: the periods after the history, in
    one format (a date alone at midnight beside times made pandas fail)."""
    import numpy as np
    import pandas as pd
    import polars as pl

    from model_training.lib.core.frames import split_xy
    from tests.lib.algorithms.test_forecasters import _pipeline, plan_for

    times = pd.date_range("2024-01-01", periods=48 * 4, freq="30min")
    frame = pl.DataFrame(
        {
            "month": [t.isoformat(sep=" ") for t in times],
            "y": np.sin(np.arange(len(times)) * 2 * np.pi / 48),
        }
    )
    plan = plan_for(frame, horizon=4, frequency="30min", seasonal_period=48)
    problem = get_problem("time_series")
    x, y = split_xy(frame[:-1], plan)  # the history ends at 23:00: next is 23:30
    model = problem.fit(_pipeline(plan, "seasonal_naive"), x, y)
    rows = problem.example_rows(model, x, plan, n=3)
    stamps = rows.get_column("month").to_list()
    assert stamps == [
        "2024-01-04T23:30:00",
        "2024-01-05T00:00:00",
        "2024-01-05T00:30:00",
    ]
    mean, _ = problem.predict(model, rows, plan)  # pandas read them before the fix
    assert len(mean) == 3 and np.isfinite(mean).all()


def test_the_final_fit_reads_the_fold_metrics_from_the_selection_forecasts(
    monkeypatch,
):
    """The walk-forward metrics of the final model's CV folds are those of the
    selection's forecasts on the same folds: with them no fold is refitted
    (an unseen monthly epic's seasonal ARIMA refitted its five folds one by
    one after the selection had fitted them), and they equal the refits'."""
    from model_training.lib.problems import time_series
    from model_training.lib.training.final_fit import fit_final
    from tests.conftest import selected_alone
    from tests.lib.algorithms.test_forecasters import plan_for, series

    frame = series(96)
    plan = plan_for(frame)
    train, validation = frame[:72], frame[72:]
    selection, oof, options = selected_alone(plan, train, validation, "auto_ets", {})
    _, refitted = fit_final(plan, train, validation, selection, options, 0)
    assert refitted["out_of_fold_from"] == "refits on the folds"

    def no_refits(*args, **kwargs):
        raise AssertionError("a fold was refitted")

    monkeypatch.setattr(time_series, "fold_forecasts", no_refits)
    _, reused = fit_final(
        plan, train, validation, selection, options, 0, selection_oof=oof
    )
    assert reused["out_of_fold_from"] == "the selection's folds (no refit)"
    assert reused["oof_metrics"].keys() == refitted["oof_metrics"].keys()
    for name, value in refitted["oof_metrics"].items():
        assert reused["oof_metrics"][name] == pytest.approx(value, rel=1e-9), name
    assert np.isfinite(reused["oof_metrics"]["mean_absolute_scaled_error"])
