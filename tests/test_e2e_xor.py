"""End to end on the XOR epic (``xor_project`` in conftest, run once in full):
the outputs, the package, inference, monitoring and re-runs."""

from __future__ import annotations

import json
import re

import polars as pl
import pytest

from tests.e2e_runs import query, registry, xor_run

pytestmark = pytest.mark.e2e


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
    version = registry(xor_project).get_model_version("xor_model", "1")
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
    champion = registry(xor_project).get_model_version_by_alias("xor_model", "champion")
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
