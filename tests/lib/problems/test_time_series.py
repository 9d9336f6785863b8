"""Time series: the card's forecast section and output line."""

from __future__ import annotations

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
