"""The team set-up (`kedro run --env server`): Optuna studies in PostgreSQL
filled by the run, a second local worker process and a worker started apart
(`model-training-worker`, as on another machine), and MLflow on a tracking
server whose backend store is PostgreSQL. Real components: needs the cluster
`.ci/run` starts (.ci/postgres)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import copy_project, kedro, make_xor_epic

POSTGRES = os.environ.get("MODEL_TRAINING_TEST_POSTGRES")
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not POSTGRES,
        reason="no PostgreSQL: set MODEL_TRAINING_TEST_POSTGRES to a database URL "
        "(`.ci/run` starts a throw-away cluster with .ci/postgres)",
    ),
]
BIN = Path(sys.executable).parent


def new_database(name: str) -> str:
    """A new, empty database on the test cluster; its URL."""
    import psycopg

    base = POSTGRES.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(base, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name}")
        connection.execute(f"CREATE DATABASE {name}")
    return POSTGRES.rsplit("/", 1)[0] + f"/{name}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def tracking_server(tmp_path_factory):
    """`mlflow server` with a PostgreSQL backend store and proxied artifacts."""
    store = new_database(f"mlflow_{os.getpid()}")
    artifacts = tmp_path_factory.mktemp("artifacts")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"  # it execs uvicorn
    log = (tmp_path_factory.mktemp("server") / "server.log").open("w")
    server = subprocess.Popen(
        [
            str(BIN / "mlflow"),
            "server",
            "--backend-store-uri",
            store,
            "--artifacts-destination",
            str(artifacts),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):  # migrations of a new store take a while
            if server.poll() is not None:
                pytest.fail(
                    f"mlflow server exited: {Path(log.name).read_text()[-3000:]}"
                )
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail(
                f"mlflow server did not start: {Path(log.name).read_text()[-3000:]}"
            )
        yield url
    finally:
        server.terminate()
        server.wait(timeout=60)
        log.close()


@pytest.fixture(scope="module")
def team_run(tmp_path_factory, tracking_server):
    """The XOR epic run with `--env server` (conf/server copied over conf/test's
    small budgets), two local workers and a worker started apart."""
    project = make_xor_epic(copy_project(tmp_path_factory.mktemp("team")))
    for name in ("mlflow.yml", "parameters_server.yml"):
        shutil.copy2(
            project / "conf" / "server" / name, project / "conf" / "test" / name
        )
    storage = new_database(f"optuna_{os.getpid()}")
    env = {
        "MLFLOW_TRACKING_URI": tracking_server,
        "MODEL_TRAINING_OPTUNA_STORAGE": storage,
        "KEDRO_DISABLE_TELEMETRY": "1",
    }
    worker_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")},
        **env,
    }
    remote = subprocess.Popen(
        [
            str(BIN / "model-training-worker"),
            "--epic",
            "xor",
            "--env",
            "test",
            "--name",
            "remote",
            "--poll",
            "0.1",
            "--idle-timeout",
            "900",
        ],
        cwd=project,
        env=worker_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    seen = []
    for line in remote.stdout:  # it is watching before the run starts
        seen.append(line)
        if "watching" in line:
            break
    assert remote.poll() is None, "".join(seen)
    try:
        result = kedro(
            project,
            "run",
            "--env",
            "test",
            "--params",
            "epic_id=xor,tuning.workers=2,tuning.caps.n_trials=8",
            env=env,
            timeout=900,
        )
    finally:
        remote.terminate()
        output = "".join(seen) + remote.communicate(timeout=60)[0]
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return project, storage, tracking_server, result, output


def test_workers_fill_each_study_with_exactly_its_budget(team_run):
    project, storage, _, result, remote_log = team_run
    tuning = json.loads((project / "results/metrics/xor/tuning.json").read_text())
    workers = set()
    for model in tuning["models"]:
        trials = model["children"]
        numbers = [t["number"] for t in trials]
        assert len(numbers) == len(set(numbers)), model["model"]
        finished = [t for t in trials if t["state"] in ("COMPLETE", "PRUNED")]
        assert len(finished) == model["trial_budget"], model["model"]
        assert model["stopped_by"] == "trial budget"
        workers.update(t["worker"] for t in trials)
    assert tuning["workers"]["on_this_machine"] == 2
    # the run's own process, its second local process, and the worker apart
    assert "remote" in workers, (workers, remote_log[-2000:])
    assert any(w.endswith("/1") for w in workers), workers
    assert len(workers) == 3, workers
    # the studies live in PostgreSQL, not in the project's SQLite file
    assert not (project / "data/6_models/xor/optuna.db").exists()
    import optuna

    names = optuna.get_all_study_names(storage=storage)
    assert {m["study_name"] for m in tuning["models"]} <= set(names)
    # the console names the workers, never the database's password
    password = storage.split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]
    console = result.stdout + result.stderr + remote_log
    assert password not in console
    assert "2 worker processes fill each study" in console
    assert " by remote" in console


def test_the_tracking_server_records_the_run_its_trials_and_the_model(team_run):
    from mlflow import MlflowClient

    _, storage, server, _, _ = team_run
    client = MlflowClient(tracking_uri=server, registry_uri=server)
    experiment = client.get_experiment_by_name("xor_model_training")
    assert experiment.artifact_location.startswith("mlflow-artifacts:")
    runs = client.search_runs([experiment.experiment_id])
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    parent = parents[0]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId")]
    trials = [r for r in children if "/trial " in (r.info.run_name or "")]
    assert trials and all(r.data.tags.get("worker") for r in trials)
    # trials of the worker apart land under the run's own parent chain
    assert any(r.data.tags["worker"] == "remote" for r in trials)
    ids = {r.info.run_id for r in runs}
    assert all(r.data.tags["mlflow.parentRunId"] in ids for r in children)
    # the registered model, with the run's artifacts on the server
    versions = client.search_model_versions("name = 'xor_model'")
    assert [v.run_id for v in versions] == [parent.info.run_id]
    artifacts = {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert {"tuning", "evaluation"} <= artifacts or len(artifacts) >= 3
    # no password reaches the record: parameters and tags are redacted
    password = storage.split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]
    text = json.dumps([parent.data.params, parent.data.tags])
    assert password not in text
    assert "***@" in parent.data.params.get("tuning", "") or "***@" in text
