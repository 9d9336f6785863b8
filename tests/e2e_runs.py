"""Helpers of the end-to-end test modules: `kedro run` in a project copy and
what it wrote."""

from __future__ import annotations

import sqlite3

from tests.conftest import kedro


def outputs(project, epic):
    """The files the first two pipelines write for ``epic``."""
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
    """Rows of ``sql`` on the project's MLflow database."""
    with sqlite3.connect(project / "mlflow.db") as db:
        return db.execute(sql).fetchall()


def registry(project):
    """The MLflow client of the project's SQLite tracking database."""
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=f"sqlite:///{project / 'mlflow.db'}")
