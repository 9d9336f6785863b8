"""End to end: `kedro run` as a user runs it, in a temporary copy of the project."""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3

import numpy as np
import polars as pl
import pytest

from model_training.epics import cli as epic_cli
from model_training.lib.algorithms.registry import available
from tests.conftest import copy_project, kedro

pytestmark = pytest.mark.e2e


def outputs(project, epic):
    return [
        project / f"results/metrics/{epic}/data_quality.json",
        project / f"results/metrics/{epic}/baselines.json",
        project / f"data/5_model_input/{epic}/modeling_plan.json",
        project / f"reports/figures/{epic}/data/target_distribution.png",
        project / f"reports/figures/{epic}/data/missing_values.png",
        project / f"data/6_models/{epic}/baselines.joblib",
    ]


def epic_run(project, epic, pipelines, *params):
    """``kedro run --env test`` of the given pipelines on one epic."""
    params = ",".join([f"epic_id={epic}", *params])
    return kedro(
        project, "run", "--env", "test", "--pipelines", pipelines, "--params", params
    )


def xor_run(project, pipelines, *params):
    """:func:`epic_run` on the xor epic."""
    return epic_run(project, "xor", pipelines, *params)


def query(project, sql):
    with sqlite3.connect(project / "mlflow.db") as db:
        return db.execute(sql).fetchall()


@pytest.fixture(scope="module")
def credit_project(tmp_path_factory):
    """A copy of the project with a tiny credit_risk epic, its first two pipelines run with --env test.

    (On 60 rows per split, whether a candidate beats the logistic-regression
    baseline is luck; the full run is tested on the XOR epic below.)
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


def test_second_epic_from_scikit_learn(tmp_path):
    project = copy_project(tmp_path)
    assert epic_cli.main(["--root", str(project), "sklearn", "diabetes"]) == 0
    result = kedro(
        project,
        "run",
        "--env",
        "test",
        "--params",
        "epic_id=diabetes",
        "--pipelines",
        "data_validation,baseline",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for path in outputs(project, "diabetes"):
        assert path.is_file(), path
    assert not (project / "results/metrics/credit_risk").exists()
    baselines = json.loads(
        (project / "results/metrics/diabetes/baselines.json").read_text()
    )
    assert baselines["primary_metric"] == "root_mean_squared_error"
    by_name = {m["name"]: m["metrics"] for m in baselines["models"]}
    assert list(by_name) == ["mean", "median", "linear_regression"]
    assert by_name["linear_regression"]["r2"] > 0.3 > by_name["mean"]["r2"]
    assert baselines["best"]["name"] == "linear_regression"
    names = [n for (n,) in query(project, "select name from experiments")]
    assert "diabetes_model_training" in names


def test_full_run_writes_modeling_and_tuning_outputs(xor_project):
    metrics = xor_project / "results/metrics/xor"
    candidates = json.loads((metrics / "candidates.json").read_text())
    assert (
        "logistic_regression" in candidates["excluded"]
    )  # cannot beat the linear baseline on an XOR
    assert 1 <= len(candidates["shortlist"]) <= 2
    tuning = json.loads((metrics / "tuning.json").read_text())
    for model in tuning["models"]:
        assert model["n_trials"] == 3  # conf/test caps the spec's 30 trials
        assert model["stopped_by"] == "trial budget"  # never the clock, even under load
    info = json.loads((metrics / "final_model.json").read_text())
    assert info["refit_on"] == "train+validation"
    assert "threshold" in info and "calibration" in info
    from model_training.datasets import SignedJoblibDataset

    model = SignedJoblibDataset(
        filepath=str(xor_project / "data/6_models/xor/final_model.joblib")
    ).load()
    test = __import__("polars").read_csv(
        xor_project / "data/4_processed/xor/features/test_features.csv"
    )
    predicted = model.predict(test.drop("label", "row_id"))
    assert set(predicted) <= {"yes", "no"}
    assert (predicted == test["label"].to_numpy()).mean() > 0.7


def test_the_console_is_quiet_and_ends_with_a_leaderboard(xor_project):
    """No line per dataset loaded or saved; the ranked models, then the paths."""
    console = (xor_project / "console_of_the_run.txt").read_text()
    assert "Loading data from" not in console and "Saving data to" not in console
    assert "is truncated to its" not in console
    assert "Running node: tune_hyperparameters" in console  # progress stays
    # every long step says how far it is: trials with time left, each model the
    # selection judges, the bootstrap, the learning curve
    flat = " ".join(console.split())  # rich wraps long lines
    assert re.search(r"Tuning \w+ trial 1/\d+ complete: .*?about \d+ s left", flat)
    assert "Selection 1/" in console and "Bootstrap: done in" in console
    assert "Candidate 1/" in console
    assert "Learning curve 1/" in console
    board = console.index("Leaderboard on validation: roc_auc, higher is better")
    assert (
        board
        < console.index("Leaderboard on test")
        < console.index("Outputs of this run")
    )


def test_full_run_writes_the_evaluation(xor_project):
    performance = json.loads(
        (xor_project / "results/metrics/xor_model_performance.json").read_text()
    )
    assert performance["metrics"]["test"]["roc_auc"] > 0.7
    assert "roc_auc" in performance["metrics"]["test_confidence_intervals"]
    figures = {
        p.stem for p in (xor_project / "reports/figures/xor/model").glob("*.png")
    }
    assert {
        "roc_curve",
        "confusion_matrix",
        "shap_summary",
        "business_impact",
        "learning_curve",
    } <= figures
    logged = {k for (k,) in query(xor_project, "select distinct key from metrics")}
    assert "test_roc_auc" in logged and "test_roc_auc_ci_low" in logged
    assert list((xor_project / "mlruns").rglob("shap_summary.png")), (
        "figures are run artifacts"
    )


def test_full_run_writes_a_verified_registered_package(xor_project):
    models = xor_project / "models/xor"
    assert len(list(models.glob("model_v1_*.joblib"))) == 1
    for name in (
        "preprocessing_v1.joblib",
        "metadata_v1.json",
        "model_card.md",
        "requirements.txt",
        "monitoring_baseline.json",
    ):
        assert (models / name).is_file(), name
    verification = json.loads(
        (xor_project / "results/metrics/xor/verification.json").read_text()
    )
    assert verification["all_checks_passed"]
    checks = {c["check"]: c for c in verification["checks"]}
    assert checks["mlflow_equals_package"]["detail"].startswith(
        "registered xor_model v1 agrees"
    )
    performance = json.loads(
        (xor_project / "results/metrics/xor_model_performance.json").read_text()
    )
    card = (models / "model_card.md").read_text()
    assert f"| roc_auc | {performance['metrics']['test']['roc_auc']:.3f} |" in card
    metadata = json.loads((models / "metadata_v1.json").read_text())
    assert (
        metadata["mlflow_run_id"]
        and metadata["input_hashes"]
        and metadata["decision_threshold"]
    )
    monitoring = json.loads((models / "monitoring_baseline.json").read_text())
    assert set(monitoring["training_data_stats"]["feature_stats"]) == {
        "a",
        "b",
        "noise",
        "colour",
    }
    assert "psi_reference" in monitoring["prediction_stats"]["test_predictions"]
    train_output = monitoring["prediction_stats"]["train_predictions"]
    assert train_output["rows_scored"] == monitoring["training_data_stats"]["n_rows"]
    # the registry shows what the version is and whether it is the champion
    version = _registry(xor_project).get_model_version("xor_model", "1")
    assert version.description.startswith(f"{performance['final_model']['model']} ")
    assert "test roc_auc" in version.description
    assert (
        version.tags["epic_id"] == "xor" and version.tags["primary_metric"] == "roc_auc"
    )
    assert (
        version.tags["data_hash.train_features.csv"]
        == (metadata["input_hashes"]["train_features.csv"])
    )
    assert version.tags["acceptance"] == "met"  # the xor spec sets no criteria
    assert "champion" in version.aliases


def _registry(project):
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=f"sqlite:///{project / 'mlflow.db'}")


def test_second_run_adds_version_two_beside_version_one(xor_project):
    models = xor_project / "models/xor"
    v1 = {p.name: p.read_bytes() for p in models.iterdir() if "_v1" in p.name}
    result = xor_run(xor_project, "reporting")
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(list(models.glob("model_v2_*.joblib"))) == 1
    for name, content in v1.items():
        assert (models / name).read_bytes() == content, name
    assert "version 2" in (models / "model_card.md").read_text().splitlines()[0]
    registered = json.loads((models / "mlflow_model.json").read_text())
    assert registered["registered_version"] == 2
    # the champion alias moves to the newer version that meets the criteria
    champion = _registry(xor_project).get_model_version_by_alias(
        "xor_model", "champion"
    )
    assert int(champion.version) == 2


def test_inference_scores_a_file_and_rejects_a_missing_column(xor_project):
    import polars as pl

    new = (
        pl.read_csv(xor_project / "data/4_processed/xor/features/test_features.csv")
        .drop("label")
        .head(30)
    )
    new = new.with_columns(
        pl.when(pl.col("row_id") % 7 == 0)
        .then(pl.lit("purple"))
        .otherwise(pl.col("colour"))
        .alias("colour")
    )
    good = xor_project / "new_rows.csv"
    new.write_csv(good)
    result = xor_run(xor_project, "inference", f"input={good}")
    assert result.returncode == 0, result.stderr[-3000:]
    scored = pl.read_csv(xor_project / "data/7_model_output/xor/predictions.csv")
    assert scored.height == 30
    assert {
        "row_id",
        "predicted",
        "score_no",
        "score_yes",
        "model_version",
        "decision_threshold",
    } <= set(scored.columns)
    assert (
        scored.filter(pl.col("warnings").str.contains("unseen colour")).height
        == new.filter(pl.col("colour") == "purple").height
        > 0
    )
    bad = xor_project / "bad_rows.csv"
    new.drop("b").write_csv(bad)
    result = xor_run(xor_project, "inference", f"input={bad}")
    assert result.returncode == 1
    assert "bad_rows.csv, column(s) b: missing" in result.stderr
    assert "Traceback" not in result.stderr


def test_monitoring_flags_a_drifted_copy_of_the_test_split(xor_project):
    """kedro run --pipelines monitoring: a timestamped report and figures; with
    fail_on_alert, exit code 1 after writing them."""
    import polars as pl

    test = pl.read_csv(xor_project / "data/4_processed/xor/features/test_features.csv")
    drifted = test.with_columns(
        (pl.col("a") + 0.7).alias("a"),
        pl.when(pl.col("row_id") % 3 == 0)
        .then(pl.lit("purple"))
        .otherwise(pl.col("colour"))
        .alias("colour"),
    )
    source = xor_project / "drifted.csv"
    drifted.write_csv(source)
    folder = xor_project / "results/monitoring/xor"
    result = xor_run(xor_project, "monitoring", f"input={source}")
    assert result.returncode == 0, result.stderr[-3000:]
    reports = sorted(folder.glob("*.json"))
    assert len(reports) == 1
    report = json.loads(reports[0].read_text())
    assert report["status"] == "alert" and report["rows"] == test.height
    by_name = {f["feature"]: f for f in report["features"]}
    assert by_name["a"]["alert"] and by_name["a"]["psi"] > 0.2
    assert by_name["colour"]["unseen_categories"] == ["purple"]
    assert report["performance"]["metric"] == "roc_auc"  # the file holds the label
    assert report["performance"]["now"] < report["performance"]["baseline_test"]
    figures = {
        p.stem for p in (xor_project / "reports/figures/xor/monitoring").glob("*.png")
    }
    assert figures == {"feature_drift", "prediction_drift"}
    assert "Monitoring alert: a: PSI" in result.stdout + result.stderr

    result = xor_run(
        xor_project, "monitoring", f"input={source}", "monitoring.fail_on_alert=true"
    )
    assert result.returncode == 1
    assert "Monitoring raised" in result.stderr and "Traceback" not in result.stderr
    assert len(sorted(folder.glob("*.json"))) >= 1  # written before the exit


def test_the_run_writes_its_executed_training_notebook(xor_project):
    """A plain run executes the notebook from its outputs: no error, no log
    clutter in the set-up cell, the numbers and figures inline."""
    import nbformat

    console = (xor_project / "console_of_the_run.txt").read_text()
    assert "notebook        notebooks/models/xor_model_training.ipynb" in console
    executed = nbformat.read(
        xor_project / "notebooks/models/xor_model_training.ipynb", as_version=4
    )
    setup = next(c for c in executed.cells if "reload_kedro" in c.source)
    assert setup.source.count("reload_kedro(") == 1  # the project is loaded once
    assert "%load_ext" not in setup.source
    printed = " ".join(str(o.get("text", "")) for o in setup.get("outputs", []))
    assert "INFO" not in printed and "Kedro project" not in printed
    errors = [
        o
        for c in executed.cells
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ]
    assert not errors
    text = "\n".join(
        str(o.get("data", {}).get("text/markdown", ""))
        for c in executed.cells
        for o in c.get("outputs", [])
    )
    assert "Final model" in text and "test roc_auc" in text
    images = [
        o
        for c in executed.cells
        for o in c.get("outputs", [])
        if "image/png" in o.get("data", {})
    ]
    assert len(images) >= 5


def test_trials_and_candidates_are_nested_mlflow_runs(xor_project):
    runs = dict(query(xor_project, "select run_uuid, name from runs"))
    parent_of = dict(
        query(
            xor_project,
            "select run_uuid, value from tags where key='mlflow.parentRunId'",
        )
    )
    names = {runs[r] for r in runs}
    # unambiguous names: the same algorithm as a baseline and as a candidate
    assert {
        "baseline/logistic_regression",
        "candidate/logistic_regression",
        "candidate/random_forest",
        "candidate/hist_gradient_boosting",
    } <= names
    tuning_runs = [
        r for r in runs if runs[r].startswith("tuning/") and "/trial" not in runs[r]
    ]
    assert tuning_runs
    trials = [r for r in runs if "/trial " in runs[r]]
    assert trials and all(parent_of[t] in tuning_runs for t in trials)
    # numbered as the log numbers them: from 1
    assert any(runs[t].endswith("/trial 1") for t in trials)
    metrics = {
        k
        for (k,) in query(
            xor_project, f"select key from metrics where run_uuid='{trials[0]}'"
        )
    }
    assert "fold_scores.fold_0" in metrics
    with_models = {
        runs[r]
        for r in runs
        if list((xor_project / "mlruns").rglob(f"{r}/artifacts/model/model.joblib"))
    }
    assert with_models and all(n.startswith("candidate/") for n in with_models)


def test_rerun_resumes_the_persisted_study(xor_project):
    before = json.loads((xor_project / "results/metrics/xor/tuning.json").read_text())
    result = xor_run(xor_project, "tuning")
    assert result.returncode == 0, result.stderr[-3000:]
    after = json.loads((xor_project / "results/metrics/xor/tuning.json").read_text())
    for old, new in zip(before["models"], after["models"], strict=True):
        assert new["study_name"] == old["study_name"]
        assert (
            new["n_trials"] == old["n_trials"]
        )  # the trial budget was spent: nothing re-run
        assert new["params"] == old["params"]


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


def _numeric_label_csv(name: str, path, rows: int) -> None:
    """breast_cancer (target 0/1) or digits (target 0..9) as a CSV of ``rows`` rows."""
    from sklearn.datasets import load_breast_cancer, load_digits

    loader = {"cancer01": load_breast_cancer, "digits09": load_digits}[name]
    frame = loader(as_frame=True).frame.sample(n=rows, random_state=0)
    frame.columns = [str(c).replace(" ", "_") for c in frame.columns]
    frame.to_csv(path, index=False)


@pytest.mark.parametrize(
    ("epic", "problem_type", "rows", "classes"),
    [
        ("cancer01", "binary_classification", 400, [0, 1]),
        ("digits09", "multiclass_classification", 500, list(range(10))),
    ],
)
def test_integer_labels_run_end_to_end(tmp_path, epic, problem_type, rows, classes):
    """0/1 and 0..9 targets: training, evaluation, package, MLflow and inference
    all keep the labels as integers (they crashed evaluation before). On
    breast_cancer the untuned logistic-regression baseline is near perfect: the
    run goes on rather than stopping because nothing 'beats' it."""
    import mlflow

    project = copy_project(tmp_path)
    source = tmp_path / f"{epic}.csv"
    _numeric_label_csv(epic, source, rows)
    args = ["--root", str(project), "from-csv", "--epic-id", epic, "--csv"]
    args += [str(source), "--target", "target", "--problem-type", problem_type]
    assert epic_cli.main(args) == 0
    spec = project / f"docs/objectives/user_stories/{epic}/modeling_spec.yml"
    spec.write_text(
        spec.read_text() + "algorithms: [logistic_regression, random_forest]\n"
        "search: {top_k: 2}\ncross_validation: {n_splits: 3}\n"
    )
    result = kedro(project, "run", "--env", "test", "--params", f"epic_id={epic}")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    metrics = project / f"results/metrics/{epic}"
    plan = json.loads(
        (project / f"data/5_model_input/{epic}/modeling_plan.json").read_text()
    )
    assert sorted(plan["classes"]) == classes  # integers, not text
    candidates = json.loads((metrics / "candidates.json").read_text())
    assert candidates["shortlist"]
    evaluation = json.loads((metrics / "test_evaluation.json").read_text())
    primary = plan["spec"]["primary_metric"]
    assert evaluation["metrics"]["test"][primary] > 0.8
    predictions = pl.read_csv(
        project / f"data/7_model_output/{epic}/test_predictions.csv"
    )
    assert predictions.schema["predicted"] == pl.Int64
    assert set(predictions["predicted"].unique().to_list()) <= set(classes)
    # inference writes the labels back as integers
    new = project / "new.csv"
    pl.read_csv(project / f"data/4_processed/{epic}/features/test_features.csv").drop(
        "target"
    ).head(20).write_csv(new)
    result = epic_run(project, epic, "inference", f"input={new}")
    assert result.returncode == 0, result.stderr[-3000:]
    scored = pl.read_csv(project / f"data/7_model_output/{epic}/predictions.csv")
    assert scored.schema["predicted"] == pl.Int64
    assert {f"score_{c}" for c in classes} <= set(scored.columns)
    # the registered MLflow model answers with integers too
    registered = json.loads((project / f"models/{epic}/mlflow_model.json").read_text())
    mlflow.set_tracking_uri(f"sqlite:///{project / 'mlflow.db'}")
    model = mlflow.pyfunc.load_model(registered["model_uri"])
    features = pl.read_csv(new).to_pandas()
    answer = model.predict(features)  # the inference pipeline's table
    served = np.asarray(answer["predicted"])
    assert served.dtype.kind == "i", served.dtype
    assert served.tolist() == scored["predicted"].to_list()
    for c in classes:
        np.testing.assert_allclose(answer[f"score_{c}"], scored[f"score_{c}"])


@pytest.fixture(scope="module")
def guarded_project(tmp_path_factory):
    """A small credit_risk copy whose first two pipelines have run once (each
    test below leaves it as a finished run left it)."""
    project = copy_project(tmp_path_factory.mktemp("guarded"), credit_rows=60)
    result = kedro(
        project, "run", "--env", "test", "--pipelines", "data_validation,baseline"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return project


def _snapshot(project):
    return {
        p: (p.read_bytes(), p.stat().st_mtime_ns)
        for folder in ("results", "reports", "data/5_model_input", "data/6_models")
        for p in (project / folder).rglob("*")
        if p.is_file()
    }


def _staged(project):
    return sorted(p for p in project.rglob(".staged-*") if p.is_dir())


def _last_run_status(project):
    rows = query(
        project,
        "select status from runs where run_uuid not in (select run_uuid from tags "
        "where key = 'mlflow.parentRunId') order by start_time desc limit 1",
    )
    return rows[0][0]


# a hyperparameter of each classifier that makes its fit fail when it is text
BAD_HYPERPARAMETER = {
    "logistic_regression": "C",
    "random_forest": "n_estimators",
    "catboost": "iterations",
    "hist_gradient_boosting": "max_iter",
    "lightgbm": "n_estimators",
    "svm_rbf": "C",
    "mlp": "alpha",
}


def test_a_failing_run_leaves_the_previous_outputs_exactly(guarded_project):
    """data_validation and baseline succeed (their outputs are staged), modeling
    then fails: nothing of this run is kept, the earlier run's files are intact."""
    before = _snapshot(guarded_project)
    result = kedro(
        guarded_project,
        "run",
        "--env",
        "test",
        "--pipelines",
        "data_validation,baseline,modeling",
        "--params",
        # valid parameters (checked before the run) that make every candidate fail
        ",".join(
            f"modeling.defaults.{name}.{BAD_HYPERPARAMETER[name]}=abc"
            for name in available("classification")
        ),
    )
    assert result.returncode == 1
    assert "No candidate could be trained" in result.stderr
    assert "No output of this run was kept" in result.stderr
    assert "Traceback" not in result.stderr
    assert _snapshot(guarded_project) == before
    assert not (
        guarded_project / "results/metrics/credit_risk/candidates.json"
    ).exists()
    assert _staged(guarded_project) == []
    assert _last_run_status(guarded_project) == "FAILED"


@contextlib.contextmanager
def _started(project, *args):
    """A ``kedro run`` in the background, killed on the way out whatever the
    test's outcome (a run left behind would hold the epic's lock)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env["KEDRO_DISABLE_TELEMETRY"] = "1"
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "kedro"), "run", "--env", "test", *args],
        cwd=project,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _wait_for_staged_output(project, process, name="baselines.json", limit=240):
    import time

    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                "the run ended before it staged anything: "
                + process.stderr.read()[-2000:]
            )
        if any(project.glob(f"results/metrics/*/.staged-credit_risk-*/{name}")):
            return
        time.sleep(0.05)
    pytest.fail("no staged output appeared")


def test_a_terminated_run_keeps_nothing_and_is_marked_killed(guarded_project):
    import signal

    before = _snapshot(guarded_project)
    with _started(
        guarded_project, "--pipelines", "data_validation,baseline,modeling"
    ) as process:
        _wait_for_staged_output(guarded_project, process)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=120) == 128 + signal.SIGTERM
    log = process.stderr.read()[-3000:]
    assert _staged(guarded_project) == [], log
    assert _snapshot(guarded_project) == before
    assert _staged(guarded_project) == []
    assert _last_run_status(guarded_project) == "KILLED"


def test_after_a_hard_kill_the_next_run_cleans_up_and_marks_it_killed(guarded_project):
    import signal

    with _started(
        guarded_project, "--pipelines", "data_validation,baseline,modeling"
    ) as process:
        _wait_for_staged_output(guarded_project, process)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
    assert _staged(guarded_project)  # left behind by the killed process
    assert _last_run_status(guarded_project) == "RUNNING"
    result = kedro(
        guarded_project, "run", "--env", "test", "--pipelines", "data_validation"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert _staged(guarded_project) == []
    statuses = [
        s
        for (s,) in query(
            guarded_project,
            "select status from runs where run_uuid not in (select run_uuid from tags "
            "where key = 'mlflow.parentRunId') order by start_time",
        )
    ]
    assert statuses[-2:] == ["KILLED", "FINISHED"]
    assert "RUNNING" not in statuses


def test_a_second_run_of_the_same_epic_stops_with_a_message(guarded_project):
    from model_training.run_guard import EpicLock

    before = _snapshot(guarded_project)
    lock = EpicLock(guarded_project, "credit_risk")
    lock.acquire({"started": "just now", "pipelines": "__default__"})
    try:
        result = kedro(
            guarded_project, "run", "--env", "test", "--pipelines", "baseline"
        )
    finally:
        lock.release()
    assert result.returncode == 1
    assert "Another run of epic 'credit_risk' is in progress" in result.stderr
    assert "Traceback" not in result.stderr
    assert _snapshot(guarded_project) == before
    # another epic is not blocked by it, and the lock is free again afterwards
    result = kedro(guarded_project, "run", "--env", "test", "--pipelines", "baseline")
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--params", "epic_id=../../../x"], "'../../../x' is not an epic id"),
        (["--params", "epic_id=a/b"], "'a/b' is not an epic id"),
        (["--params", "seed=abc"], "the seed must be a whole number, got 'abc'"),
        (["--params", "threads=0"], "expected 'auto' or a whole number of at least 1"),
        (["--pipelines", "tunning"], "no pipeline named 'tunning'"),
        (["--params", "epic_id="], "'' is not an epic id"),
        (["--env", "nosuchenv"], "no configuration folder conf/nosuchenv"),
        (
            ["--params", "tuning.grid_points=1,evaluation.bootstrap.levl=0.9"],
            "key 'tuning.grid_points': Input should be greater than or equal to 2",
        ),
        (
            ["--params", "evaluation.bootstrap.levl=0.9"],
            "'evaluation.bootstrap.levl': unknown key",
        ),
    ],
)
def test_bad_arguments_end_in_one_message(guarded_project, args, expected):
    before = _snapshot(guarded_project)
    result = kedro(guarded_project, "run", "--env", "test", *args)
    assert result.returncode == 1
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert "Nothing was written" in result.stderr
    if "tunning" in expected:
        assert (
            "use one or more of: __default__, baseline, data_validation"
            in result.stderr
        )
    assert _snapshot(guarded_project) == before
    assert not (guarded_project.parent / "x").exists()


def _score(project, rows_csv):
    return xor_run(project, "inference", f"input={rows_csv}")


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("header_only", "the file has a header but no rows to score"),
        ("infinite", "column 'a': 1 infinite value(s) (lines 4)"),
        ("text", "column 'b': values that are not numbers: 'n/a' (line 3)"),
        ("semicolons", "its fields are separated by semicolons, not commas"),
        ("missing_file", "check the path given with --params input="),
    ],
)
def test_inference_refuses_bad_rows_with_one_message(xor_project, case, expected):
    rows = (
        pl.read_csv(xor_project / "data/4_processed/xor/features/test_features.csv")
        .drop("label")
        .head(10)
    )
    path = xor_project / f"bad_{case}.csv"
    if case == "header_only":
        rows.head(0).write_csv(path)
    elif case == "infinite":
        rows.with_columns(
            pl.when(pl.int_range(pl.len()) == 2)
            .then(float("inf"))
            .otherwise(pl.col("a"))
            .alias("a")
        ).write_csv(path)
    elif case == "text":
        rows.with_columns(
            pl.when(pl.int_range(pl.len()) == 1)
            .then(pl.lit("n/a"))
            .otherwise(pl.col("b").cast(pl.String))
            .alias("b")
        ).write_csv(path)
    elif case == "semicolons":
        path.write_text(rows.write_csv().replace(",", ";"))
    result = _score(xor_project, path)
    assert result.returncode == 1
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_a_package_that_cannot_be_verified_is_not_loaded(xor_project, tmp_path):
    """A missing metadata file, or a crafted model file whose recorded sha256 was
    rewritten to match: refused, and the crafted file's code never runs."""
    import hashlib

    import joblib

    folder = xor_project / "models/xor"
    rows = tmp_path / "rows.csv"
    pl.read_csv(xor_project / "data/4_processed/xor/features/test_features.csv").drop(
        "label"
    ).head(5).write_csv(rows)
    newest = max(int(p.stem.split("_v")[1]) for p in folder.glob("metadata_v*.json"))
    metadata = folder / f"metadata_v{newest}.json"
    model = next(folder.glob(f"model_v{newest}_*.joblib"))
    saved = {p: p.read_bytes() for p in (metadata, model)}
    marker = tmp_path / "PWNED"
    try:
        metadata.unlink()
        result = _score(xor_project, rows)
        assert result.returncode == 1
        assert f"metadata_v{newest}.json: missing" in result.stderr
        metadata.write_bytes(saved[metadata])
        joblib.dump(_Payload(str(marker)), model)
        record = json.loads(metadata.read_text())
        record["artifacts"]["model"]["sha256"] = hashlib.sha256(
            model.read_bytes()
        ).hexdigest()
        metadata.write_text(json.dumps(record))
        result = _score(xor_project, rows)
        assert result.returncode == 1
        assert "signature does not match its content" in result.stderr
        assert "Traceback" not in result.stderr
        assert not marker.exists()
    finally:
        for path, content in saved.items():
            path.write_bytes(content)


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').write('x')",))


def _mount_over(folder, options):
    import subprocess

    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root): " + done.stderr.decode())


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ("ro,size=1m", "the folder is on a read-only file system"),
        ("size=16k", "the disk is full"),
    ],
)
def test_a_read_only_or_full_models_folder_registers_nothing(
    xor_project, options, expected
):
    import subprocess

    def versions():
        return query(xor_project, "select count(*) from model_versions")[0][0]

    before = versions()
    _mount_over(xor_project / "models", options)
    try:
        result = xor_run(xor_project, "reporting")
    finally:
        subprocess.run(["umount", str(xor_project / "models")], check=False)
    assert result.returncode == 1
    assert expected in result.stderr
    assert "Fix: free space or make the folder writable" in result.stderr
    assert "Traceback" not in result.stderr
    assert versions() == before  # no registered version without its package
    assert (xor_project / "models/xor/model_card.md").is_file()  # untouched


def test_a_run_started_from_another_thread_works(guarded_project):
    """Signal handlers can only be set from the main thread: a session run
    from a worker thread (a notebook helper, a scheduler) still runs."""
    import os
    import subprocess
    import sys

    script = (
        "import threading\n"
        "from pathlib import Path\n"
        "from kedro.framework.session import KedroSession\n"
        "from kedro.framework.startup import bootstrap_project\n"
        "bootstrap_project(Path.cwd())\n"
        "outcome = []\n"
        "def go():\n"
        "    with KedroSession.create(env='test') as session:\n"
        "        session.run(pipeline_names=['data_validation'])\n"
        "    outcome.append('ok')\n"
        "worker = threading.Thread(target=go)\n"
        "worker.start()\n"
        "worker.join()\n"
        "print(outcome)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env["KEDRO_DISABLE_TELEMETRY"] = "1"
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=guarded_project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert "['ok']" in result.stdout, result.stderr[-3000:]
    assert _staged(guarded_project) == []


def test_a_stop_signal_cannot_be_swallowed_by_the_code_it_lands_in(tmp_path):
    """SIGTERM during a CatBoost fit becomes a KeyboardInterrupt that a
    training loop can catch, and the run would go on; the stop watchdog ends
    the process with the signal's exit code anyway."""
    import subprocess
    import sys

    script = (
        "import os, signal, threading, time\n"
        "import numpy as np\n"
        "from catboost import CatBoostClassifier\n"
        "from model_training import run_guard\n"
        "run_guard.STOP_GRACE_S = 1.0\n"
        "signal.signal(signal.SIGTERM, run_guard.RunGuardHook()._on_signal)\n"
        "threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGTERM)).start()\n"
        "X = np.random.default_rng(0).random((2000, 10)); y = X[:, 0] > 0.5\n"
        "try:\n"
        "    CatBoostClassifier(iterations=10**6, verbose=0, thread_count=1).fit(X, y)\n"
        "except BaseException as error:\n"
        "    print('swallowed', type(error).__name__, flush=True)\n"
        "for _ in range(600):  # the run goes on\n"
        "    time.sleep(0.1)\n"
        "print('went on to the end', flush=True)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 143, result.stdout + result.stderr[-2000:]
    assert "swallowed KeyboardInterrupt" in result.stdout
    assert "went on to the end" not in result.stdout
    assert "Stopped by signal 15" in result.stderr
