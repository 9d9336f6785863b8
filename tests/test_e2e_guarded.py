"""End to end: runs that fail, are stopped or killed, or collide leave the
previous outputs exactly, and a run ends with one message."""

from __future__ import annotations

import contextlib

import pytest

from model_training.lib.algorithms.registry import available
from tests.conftest import copy_project, kedro
from tests.e2e_runs import query

pytestmark = pytest.mark.e2e


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
        # other malformed ids ('a/b', ...) are refused by the same check
        # (tests/test_run_guard.py); one start-up each is ten seconds here.
        # An empty value is kept: the command line parses it, not the check
        (["--params", "epic_id=../../../x"], ["'../../../x' is not an epic id"]),
        (["--params", "epic_id="], ["'' is not an epic id"]),
        (["--params", "seed=abc"], ["the seed must be a whole number, got 'abc'"]),
        (
            ["--params", "threads=0"],
            ["expected 'auto' or a whole number of at least 1"],
        ),
        (["--pipelines", "tunning"], ["no pipeline named 'tunning'"]),
        (["--env", "nosuchenv"], ["no configuration folder conf/nosuchenv"]),
        (
            # two bad keys in two groups: one message names both
            ["--params", "tuning.grid_points=1,evaluation.bootstrap.levl=0.9"],
            [
                "key 'tuning.grid_points': Input should be greater than or equal to 2",
                "'evaluation.bootstrap.levl': unknown key",
            ],
        ),
    ],
)
def test_bad_arguments_end_in_one_message(guarded_project, args, expected):
    before = _snapshot(guarded_project)
    result = kedro(guarded_project, "run", "--env", "test", *args)
    assert result.returncode == 1
    for part in expected:
        assert part in result.stderr
    assert "Traceback" not in result.stderr
    assert "Nothing was written" in result.stderr
    if "tunning" in expected[0]:
        assert (
            "use one or more of: __default__, baseline, data_validation"
            in result.stderr
        )
    assert _snapshot(guarded_project) == before
    assert not (guarded_project.parent / "x").exists()


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
