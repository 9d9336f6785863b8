"""End to end on new epics a user builds: from a scikit-learn set, and from CSVs
whose class labels are integers."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from model_training.epics import cli as epic_cli
from tests.conftest import copy_project, kedro
from tests.e2e_runs import epic_run, outputs, query

pytestmark = pytest.mark.e2e


def test_second_epic_from_scikit_learn(tmp_path):
    project = copy_project(tmp_path)
    assert epic_cli.main(["--root", str(project), "sklearn", "diabetes"]) == 0
    result = epic_run(project, "diabetes", "data_validation,baseline")
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


def _numeric_label_csv(name: str, path, rows: int) -> None:
    """breast_cancer (target 0/1) or digits (target 0..9) as a CSV of ``rows`` rows."""
    from sklearn.datasets import load_breast_cancer, load_digits

    loader = {"cancer01": load_breast_cancer, "digits09": load_digits}[name]
    frame = loader(as_frame=True).frame.sample(n=rows, random_state=0)
    frame.columns = [str(c).replace(" ", "_") for c in frame.columns]
    frame.to_csv(path, index=False)


def _small_csv_epic(project, epic, source, target, problem_type, algorithms):
    """An epic built from ``source`` with ``from-csv``, its spec narrowed to
    two algorithms, two tuned models and three folds (for time)."""
    args = ["--root", str(project), "from-csv", "--epic-id", epic, "--csv"]
    args += [str(source), "--target", target, "--problem-type", problem_type]
    assert epic_cli.main(args) == 0
    spec = project / f"docs/objectives/user_stories/{epic}/modeling_spec.yml"
    spec.write_text(
        spec.read_text() + f"algorithms: [{algorithms}]\n"
        "search: {top_k: 2}\ncross_validation: {n_splits: 3}\n"
    )


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
    _small_csv_epic(
        project,
        epic,
        source,
        "target",
        problem_type,
        "logistic_regression, random_forest",
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


def test_a_skewed_regression_runs_end_to_end_on_the_log_scale(tmp_path):
    """Log-normal prices, the models fitted on log(1 + price): the package,
    its verification, the registered MLflow model and inference all answer in
    prices, and the explanations and the model card say what scale the model
    saw."""
    import mlflow

    from tests.lib.algorithms.test_target_transform import price_frame

    project = copy_project(tmp_path)
    source = tmp_path / "prices.csv"
    price_frame(400).drop("row_id").write_csv(source)
    _small_csv_epic(project, "prices", source, "price", "regression", "ridge, lightgbm")
    result = kedro(
        project,
        "run",
        "--env",
        "test",
        "--params",
        "epic_id=prices,tuning.target_transform=log1p",
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    # MLflow's request for type hints on kedro-mlflow's model class had been
    # every run's first log line
    assert "Add type hints" not in result.stdout + result.stderr
    performance = json.loads(
        (project / "results/metrics/prices_model_performance.json").read_text()
    )
    final = performance["final_model"]
    configs = final.get("members") or [final]
    assert all(c["params"]["target_transform"] == "log1p" for c in configs)
    test = performance["metrics"]["test"]["root_mean_squared_error"]
    assert test < performance["baselines_on_test"]["mean"]["root_mean_squared_error"]
    assert performance["feature_importance"]["shap_sample"]["units"] == (
        "log(1 + target)"
    )
    assert "log(1 + target)" in (project / "models/prices/model_card.md").read_text()
    verification = json.loads(
        (project / "results/metrics/prices/verification.json").read_text()
    )
    assert all(c["passed"] for c in verification["checks"]), verification
    # inference and the registered model answer in prices
    test_rows = pl.read_csv(
        project / "data/4_processed/prices/features/test_features.csv"
    ).head(20)
    new = project / "new.csv"
    test_rows.drop("price").write_csv(new)
    result = epic_run(project, "prices", "inference", f"input={new}")
    assert result.returncode == 0, result.stderr[-3000:]
    scored = pl.read_csv(project / "data/7_model_output/prices/predictions.csv")
    predicted = scored["predicted"].to_numpy()
    assert (predicted > 0).all()
    # prediction over price near 1 (log noise 0.3); log units would be ~0.001
    ratio = predicted / test_rows["price"].to_numpy()
    assert np.median(ratio) == pytest.approx(1.0, abs=0.3)
    registered = json.loads((project / "models/prices/mlflow_model.json").read_text())
    mlflow.set_tracking_uri(f"sqlite:///{project / 'mlflow.db'}")
    model = mlflow.pyfunc.load_model(registered["model_uri"])
    answer = model.predict(pl.read_csv(new).to_pandas())
    np.testing.assert_allclose(np.asarray(answer["predicted"]), predicted)
