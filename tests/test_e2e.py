"""End to end on the default epic: `kedro run` as a user runs it, in a temporary
copy of the project with a tiny credit_risk epic."""

from __future__ import annotations

import json

import pytest

from tests.conftest import copy_project, kedro
from tests.e2e_runs import outputs, query

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def credit_project(tmp_path_factory):
    """A copy of the project with a tiny credit_risk epic, its first two pipelines run with --env test.

    (On 60 rows per split, whether a candidate beats the logistic-regression
    baseline is luck; the full run is tested on the XOR epic, in test_e2e_xor.py.)
    """
    project = copy_project(tmp_path_factory.mktemp("credit"), credit_rows=60)
    result = kedro(
        project, "run", "--env", "test", "--pipelines", "data_validation,baseline"
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return project


def test_default_run_writes_every_output(credit_project):
    for path in outputs(credit_project, "credit_risk"):
        assert path.is_file() and path.stat().st_size > 0, path
    report = json.loads(
        (credit_project / "results/metrics/credit_risk/data_quality.json").read_text()
    )
    assert report["summary"]["train_size"] == 60
    baselines = json.loads(
        (credit_project / "results/metrics/credit_risk/baselines.json").read_text()
    )
    assert [m["name"] for m in baselines["models"]] == [
        "majority_class",
        "stratified_random",
        "logistic_regression",
    ]


def test_one_mlflow_run_with_tags_params_and_child_runs(credit_project):
    experiments = query(
        credit_project,
        "select experiment_id, name from experiments where name != 'Default'",
    )
    assert [name for _, name in experiments] == ["credit_risk_model_training"]
    runs = query(credit_project, "select run_uuid, name from runs")
    parents = [
        r
        for r in runs
        if not query(
            credit_project,
            f"select 1 from tags where run_uuid='{r[0]}' and key='mlflow.parentRunId'",
        )
    ]
    assert len(parents) == 1
    parent = parents[0][0]
    tags = dict(
        query(credit_project, f"select key, value from tags where run_uuid='{parent}'")
    )
    assert tags["epic_id"] == "credit_risk"
    assert tags["pipeline"] == "baseline+data_validation"
    assert tags["stage"] == "model_training"
    assert tags["kedro_env"] == "test"
    params = dict(
        query(
            credit_project, f"select key, value from params where run_uuid='{parent}'"
        )
    )
    assert params["epic_id"] == "credit_risk"
    assert params["seed"] == "7"  # conf/test overrides the seed
    assert params["train_size"] == "60"
    assert "data_validation.thresholds.leakage_score" in params
    children = sorted(name for _, name in runs if _ != parent)
    assert children == [
        "baseline/logistic_regression",
        "baseline/majority_class",
        "baseline/stratified_random",
    ]
    artifacts = list((credit_project / "mlruns").rglob("baselines.json"))
    assert artifacts, "baselines.json is logged as an artifact under mlruns/"


def test_pipelines_run_one_at_a_time(credit_project):
    before = (
        (credit_project / "results/metrics/credit_risk/baselines.json")
        .stat()
        .st_mtime_ns
    )
    result = kedro(credit_project, "run", "--env", "test", "--pipelines", "baseline")
    assert result.returncode == 0, result.stderr[-3000:]
    assert (
        credit_project / "results/metrics/credit_risk/baselines.json"
    ).stat().st_mtime_ns > before


def test_bad_input_stops_with_one_message_and_keeps_outputs(credit_project):
    files = outputs(credit_project, "credit_risk")
    snapshot = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in files}
    spec = credit_project / "docs/objectives/user_stories/credit_risk/modeling_spec.yml"
    good = spec.read_text()
    spec.write_text(good.replace("target: credit_risk", "target: credit_rsk"))
    try:
        result = kedro(
            credit_project,
            "run",
            "--env",
            "test",
            "--pipelines",
            "data_validation,baseline",
        )
    finally:
        spec.write_text(good)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    assert (
        "modeling_spec.yml, key 'target': column 'credit_rsk' is not in the feature schema"
        in result.stderr
    )
    assert "Fix: use one of:" in result.stderr
    for path, (content, mtime) in snapshot.items():
        assert path.read_bytes() == content and path.stat().st_mtime_ns == mtime, path


def test_missing_feature_file_names_the_file(credit_project):
    path = (
        credit_project / "data/4_processed/credit_risk/features/validation_features.csv"
    )
    saved = path.read_bytes()
    path.unlink()
    try:
        result = kedro(
            credit_project, "run", "--env", "test", "--pipelines", "data_validation"
        )
    finally:
        path.write_bytes(saved)
    assert result.returncode == 1
    assert (
        "data/4_processed/credit_risk/features/validation_features.csv: the file does not exist"
        in result.stderr
    )
    assert "Traceback" not in result.stderr
