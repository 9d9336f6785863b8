"""TrackingHook: catalog metadata decides what is logged to MLflow."""

from __future__ import annotations

import mlflow
from kedro.io import DataCatalog, MemoryDataset

from model_training.datasets import ReportJSONDataset
from model_training.hooks import TrackingHook


def test_saved_report_becomes_artifact_metrics_and_child_runs(tmp_path):
    report = ReportJSONDataset(
        filepath=str(tmp_path / "baselines.json"),
        metadata={
            "mlflow": {
                "artifact_path": "baseline",
                "child_runs": "models",
                "metrics": "summary",
                "params": "summary_params",
                "tags": "tags",
            }
        },
    )
    catalog = DataCatalog(
        {"baseline_results": report, "other": MemoryDataset({"x": 1})}
    )
    data = {
        "models": [
            {
                "name": "m1",
                "kind": "baseline",
                "params": {"C": 1.0},
                "metrics": {"auc": 0.7},
                "fit_time_s": 0.1,
            },
            {
                "name": "m2",
                "kind": "baseline",
                "params": {},
                "metrics": {"auc": float("nan")},
            },
        ],
        "summary": {"best_auc": 0.7, "note": "text is skipped"},
        "summary_params": {"train_size": 60},
        "tags": {"status": "pass"},
    }
    report.save(data)
    hook = TrackingHook()
    hook.after_catalog_created(catalog)
    hook.after_dataset_saved("other", {"x": 1}, None)  # no metadata: nothing happens
    with mlflow.start_run() as parent:
        hook.after_dataset_saved("baseline_results", data, None)
    client = mlflow.MlflowClient()
    run = client.get_run(parent.info.run_id)
    assert run.data.metrics == {"best_auc": 0.7}
    assert run.data.params == {"train_size": "60"}
    assert run.data.tags["status"] == "pass"
    assert [a.path for a in client.list_artifacts(parent.info.run_id, "baseline")] == [
        "baseline/baselines.json"
    ]
    children = client.search_runs(
        [run.info.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'",
    )
    by_name = {c.info.run_name: c for c in children}
    assert set(by_name) == {"baseline/m1", "baseline/m2"}  # named by step
    assert by_name["baseline/m1"].data.metrics == {
        "metrics.auc": 0.7,
        "fit_time_s": 0.1,
    }
    assert by_name["baseline/m1"].data.params == {"C": "1.0"}
    assert by_name["baseline/m2"].data.metrics == {}  # NaN is not logged
    assert by_name["baseline/m1"].data.tags["kind"] == "baseline"


def test_hook_is_silent_without_an_active_run(tmp_path):
    report = ReportJSONDataset(
        filepath=str(tmp_path / "r.json"), metadata={"mlflow": {"artifact_path": "x"}}
    )
    hook = TrackingHook()
    hook.after_catalog_created(DataCatalog({"r": report}))
    hook.after_dataset_saved("r", {}, None)
    assert mlflow.active_run() is None


def test_run_summary_says_where_each_output_was_written(tmp_path, capsys):
    from matplotlib.figure import Figure

    from model_training.datasets import FigureDirectoryDataset
    from model_training.hooks import RunSummaryHook

    performance = ReportJSONDataset(
        filepath=str(tmp_path / "results/metrics/e_model_performance.json")
    )
    report = ReportJSONDataset(filepath=str(tmp_path / "results/metrics/e/a.json"))
    figures = FigureDirectoryDataset(filepath=str(tmp_path / "reports/figures/e"))
    catalog = DataCatalog(
        {"model_performance": performance, "report": report, "figures": figures}
    )
    hook = RunSummaryHook()
    hook.after_catalog_created(catalog)
    performance.save(
        {
            "primary_metric": "root_mean_squared_error",
            "final_model": {"model": "ridge"},
            "metrics": {"test": {"root_mean_squared_error": 1.5}},
            "comparison": {
                "rows": [
                    {
                        "model": "ridge",
                        "stage": "candidate",
                        "evaluated_on": "validation",
                        "metrics": {"root_mean_squared_error": 1.25},
                    }
                ]
            },
        }
    )
    report.save({"y": 2})
    figure = Figure()
    figure.add_subplot().plot([1, 2])
    figures.save({"one": figure})
    for name in ("model_performance", "report", "figures"):
        hook.after_dataset_saved(name, None, None)
    hook.after_pipeline_run({"project_path": str(tmp_path)})
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert "Outputs of this run:" in lines
    # the leaderboard comes first, ranked, then the paths
    assert out.index("Leaderboard on validation: root_mean_squared_error") < out.index(
        "Outputs of this run"
    )
    assert "1.2500" in out and "1.5000" in out
    metrics = next(i for i, line in enumerate(lines) if "metrics " in line)
    assert lines[metrics].split() == [
        "metrics",
        "results/metrics/e_model_performance.json",
    ]
    assert "reports         results/metrics/e/: a.json" in out
    assert "figures         reports/figures/e/ (1 PNG)" in out
    figures_line = next(i for i, line in enumerate(lines) if "figures " in line)
    assert metrics < figures_line  # metrics before figures


def test_run_summary_is_silent_when_nothing_was_saved(capsys):
    from model_training.hooks import RunSummaryHook

    hook = RunSummaryHook()
    hook.after_catalog_created(DataCatalog({}))
    hook.after_pipeline_run({"project_path": "."})
    assert capsys.readouterr().out == ""
