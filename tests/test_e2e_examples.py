"""End to end on the example epics of the unsupervised and forecasting problem
types: every pipeline, figures, model card, monitoring baseline, inference."""

from __future__ import annotations

import json

import polars as pl
import pytest

from model_training.epics import cli as epic_cli
from tests.conftest import copy_project, kedro
from tests.e2e_runs import epic_run

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(
    ("example", "figures", "metric"),
    [
        (
            "iris",
            {"cluster_projection", "silhouette", "cluster_profiles"},
            "silhouette",
        ),
        (
            "breast_cancer_anomaly",
            {"score_histogram", "roc_curve", "precision_recall_curve"},
            "pr_auc",
        ),
    ],
)
def test_unsupervised_examples_run_every_pipeline(tmp_path, example, figures, metric):
    project = copy_project(tmp_path)
    assert epic_cli.main(["--root", str(project), "sklearn", example]) == 0
    if example == "breast_cancer_anomaly":
        # two detectors, for time: every detector has unit tests
        spec = project / f"docs/objectives/user_stories/{example}/modeling_spec.yml"
        spec.write_text(
            spec.read_text() + "algorithms: [isolation_forest, local_outlier_factor]\n"
        )
    result = kedro(project, "run", "--env", "test", "--params", f"epic_id={example}")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    performance = json.loads(
        (project / f"results/metrics/{example}_model_performance.json").read_text()
    )
    assert performance["problem_type"] in ("clustering", "anomaly_detection")
    value = performance["metrics"]["test"][metric]
    assert isinstance(value, float), value  # NaN is written as null
    drawn = {
        p.stem for p in (project / f"reports/figures/{example}/model").glob("*.png")
    }
    assert figures <= drawn
    verification = json.loads(
        (project / f"results/metrics/{example}/verification.json").read_text()
    )
    assert all(c["passed"] for c in verification["checks"])
    card = (project / f"models/{example}/model_card.md").read_text()
    assert metric in card
    # no placeholders: neither an empty group section nor a figure or file
    # standing for an analysis that does not apply
    assert "Performance across groups" not in card  # no sensitive features here
    assert not (
        project / f"reports/figures/{example}/data/target_distribution.png"
    ).exists()
    if example == "iris":
        assert not (project / f"data/7_model_output/{example}/shap_values.csv").exists()
        assert "was never a model input" in card
    for name, interval in performance["metrics"]["test_confidence_intervals"].items():
        estimate = performance["metrics"]["test"][name]
        assert interval["low"] <= estimate <= interval["high"], name
    baseline = json.loads(
        (project / f"models/{example}/monitoring_baseline.json").read_text()
    )
    assert baseline["prediction_stats"] and baseline["training_data_stats"]


def test_time_series_example_runs_every_pipeline(tmp_path):
    project = copy_project(tmp_path)
    assert epic_cli.main(["--root", str(project), "co2"]) == 0
    spec = project / "docs/objectives/user_stories/co2/modeling_spec.yml"
    # the fast statistical models only, for time: AutoARIMA's order search
    # (about 10 s a fit on this series, two minutes of the run) and the lag
    # models have unit tests
    spec.write_text(spec.read_text() + "algorithms: [auto_ets, auto_theta, mstl]\n")
    result = kedro(project, "run", "--env", "test", "--params", "epic_id=co2")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    performance = json.loads(
        (project / "results/metrics/co2_model_performance.json").read_text()
    )
    assert performance["problem_type"] == "time_series"
    test = performance["metrics"]["test"]
    seasonal_naive = performance["baselines_on_test"]["seasonal_naive"]
    # the CO2 series is smooth and seasonal: the model beats seasonal naive clearly
    assert (
        test["mean_absolute_scaled_error"]
        < 0.8 * seasonal_naive["mean_absolute_scaled_error"]
    )
    assert 0.5 <= test["interval_coverage"] <= 1.0
    forecast = performance["forecast"]
    assert set(forecast["by_horizon_step"]) == {str(k) for k in range(1, 13)}
    assert "ljung_box" in forecast
    drawn = {p.stem for p in (project / "reports/figures/co2/model").glob("*.png")}
    assert {"forecast_vs_actual", "residuals_acf", "error_by_horizon"} <= drawn
    verification = json.loads(
        (project / "results/metrics/co2/verification.json").read_text()
    )
    assert all(c["passed"] for c in verification["checks"])
    card = (project / "models/co2/model_card.md").read_text()
    assert "### Forecasts" in card and "lead time 1 to 12 periods" in card
    monitoring = json.loads(
        (project / "models/co2/monitoring_baseline.json").read_text()
    )
    assert monitoring["residuals_test"]["mean_absolute"] > 0
    assert monitoring["prediction_output"] == "forecast of co2_ppm"
    # the package forecasts the months after its history (train + validation)
    months = pl.read_csv(project / "data/4_processed/co2/features/test_features.csv")
    months.select("month").head(12).write_csv(project / "future.csv")
    scored = epic_run(project, "co2", "inference", "input=future.csv")
    assert scored.returncode == 0, scored.stdout[-3000:] + scored.stderr[-3000:]
    forecasts = pl.read_csv(project / "data/7_model_output/co2/predictions.csv")
    assert forecasts.height == 12
    assert forecasts.get_column("horizon_step").to_list() == list(range(1, 13))
    lower, upper = forecasts.get_column("lower_90"), forecasts.get_column("upper_90")
    assert ((lower <= forecasts["predicted"]) & (forecasts["predicted"] <= upper)).all()
