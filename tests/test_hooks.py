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
    assert set(by_name) == {"m1", "m2"}
    assert by_name["m1"].data.metrics == {"metrics.auc": 0.7, "fit_time_s": 0.1}
    assert by_name["m1"].data.params == {"C": "1.0"}
    assert by_name["m2"].data.metrics == {}  # NaN is not logged
    assert by_name["m1"].data.tags["kind"] == "baseline"


def test_hook_is_silent_without_an_active_run(tmp_path):
    report = ReportJSONDataset(
        filepath=str(tmp_path / "r.json"), metadata={"mlflow": {"artifact_path": "x"}}
    )
    hook = TrackingHook()
    hook.after_catalog_created(DataCatalog({"r": report}))
    hook.after_dataset_saved("r", {}, None)
    assert mlflow.active_run() is None
