"""The team set-up's messages: `model-training-worker` and `kedro run --env
server` end in one clear message, never a traceback, when they cannot work,
and print no password."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import copy_project, make_xor_epic
from tests.lib.training.test_tuning import DEFAULTS
from tests.lib.training.test_workers import options

WORKER = Path(sys.executable).parent / "model-training-worker"


def worker(root: Path, *args: str, env: dict | None = None):
    return subprocess.run(
        [str(WORKER), "--root", str(root), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "KEDRO_DISABLE_TELEMETRY": "1", **(env or {})},
        check=False,
    )


def xor_worker(project: Path, *args: str, env: dict | None = None):
    """The worker on the XOR epic with the test settings."""
    return worker(project, "--epic", "xor", "--env", "test", *args, env=env)


def test_a_folder_without_the_epic_ends_in_one_message(tmp_path):
    result = worker(tmp_path, "--epic", "xor", "--idle-timeout", "1")
    assert result.returncode == 2
    assert "cannot read epic 'xor'" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_a_run_on_other_data_is_refused_with_the_file_to_copy(tmp_path, xor_setup):
    """The run tuned other rows than this machine's train_features.csv: the
    worker names the file and stops, and the password stays hidden."""
    from model_training.lib.training.objective import Claim
    from model_training.lib.training.search import open_storage
    from model_training.lib.training.study import (
        open_study,
        study_setup,
        tuning_context,
    )
    from model_training.lib.training.work_orders import ORDER_KEY, work_order

    project = make_xor_epic(copy_project(tmp_path / "project"))
    parts, _, _, plan = xor_setup  # other rows than the epic's CSV
    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    opts = options(url)
    ctx = tuning_context(plan, parts["train"], opts, 0, dict(DEFAULTS), {})
    setup = study_setup(ctx, "logistic_regression")
    study = open_study(ctx, setup, open_storage(url, opts.heartbeat))
    study.set_user_attr(
        ORDER_KEY, work_order(ctx, setup, Claim("r", 3, "run"), time.time() + 600)
    )
    result = xor_worker(
        project,
        "--idle-timeout",
        "60",
        "--poll",
        "0.1",
        env={"MODEL_TRAINING_OPTUNA_STORAGE": url},
    )
    assert result.returncode == 2, result.stdout[-2000:] + result.stderr[-2000:]
    assert "train_features.csv" in result.stderr
    assert "is not the run's" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not study.trials  # it ran nothing


def test_an_unreachable_database_ends_in_one_message_without_its_password(tmp_path):
    project = make_xor_epic(copy_project(tmp_path / "project"))
    url = "postgresql+psycopg://someone:hunter2@127.0.0.1:1/none"
    result = xor_worker(
        project, "--idle-timeout", "1", env={"MODEL_TRAINING_OPTUNA_STORAGE": url}
    )
    text = result.stdout + result.stderr
    assert result.returncode == 2, text[-2000:]
    assert "cannot use the study storage postgresql+psycopg://someone:***@" in text
    assert "Connection refused" in text or "connection failed" in text
    assert "Traceback" not in text
    assert "hunter2" not in text


def test_the_server_environment_without_its_variables_ends_in_one_message(tmp_path):
    from tests.conftest import kedro

    project = make_xor_epic(copy_project(tmp_path / "project"))
    result = kedro(project, "run", "--env", "server", "--params", "epic_id=xor")
    assert result.returncode == 1
    assert "reads the environment variable MLFLOW_TRACKING_URI, which is not set" in (
        result.stderr
    )
    assert "Traceback" not in result.stdout + result.stderr


def test_a_run_whose_storage_is_unreachable_stops_before_fitting(tmp_path):
    from tests.conftest import kedro

    project = make_xor_epic(copy_project(tmp_path / "project"))
    result = kedro(
        project,
        "run",
        "--env",
        "server",
        "--params",
        "epic_id=xor",
        env={
            "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
            "MODEL_TRAINING_OPTUNA_STORAGE": "postgresql+psycopg://a:hunter2@127.0.0.1:1/x",
        },
    )
    text = result.stdout + result.stderr
    assert result.returncode == 1, text[-3000:]
    assert "tuning.storage: postgresql+psycopg://a:***@127.0.0.1:1/x" in text
    assert "Nothing was written" in text
    assert "Running node" not in text  # stopped before any node ran
    assert "hunter2" not in text and "Traceback" not in text
