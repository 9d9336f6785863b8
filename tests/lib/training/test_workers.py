"""Tuning workers: several processes fill one study with exactly its trial
budget, none twice; a worker killed mid-trial gives its slot back; a worker
from elsewhere joins through the study's work order and refuses other data."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import optuna
import pytest

from model_training.lib.training.tuning import tune_models
from tests.conftest import PROJECT_ROOT, conf_params
from tests.lib.training.test_tuning import DEFAULTS, _OPTIONS_RAW, with_search

POSTGRES = os.environ.get("MODEL_TRAINING_TEST_POSTGRES")
NEEDS_POSTGRES = pytest.mark.skipif(
    not POSTGRES,
    reason="no PostgreSQL: set MODEL_TRAINING_TEST_POSTGRES to a database URL "
    "(`.ci/run` starts a throw-away cluster with .ci/postgres)",
)


def options(storage: str | None, workers: int = 1):
    return conf_params(
        "tuning",
        {
            **{k: v for k, v in _OPTIONS_RAW.items() if k != "search_spaces"},
            "storage": storage,
            "workers": workers,
            "heartbeat": {"interval_s": 1, "grace_s": 3},
        },
        replace={"search_spaces": _OPTIONS_RAW["search_spaces"]},
        env=None,
    )


def fresh_schema(url: str) -> str:
    """An empty PostgreSQL schema of the test database for this test (its
    studies do not meet another test's)."""
    import sqlalchemy

    name = f"t{os.getpid()}_{time.monotonic_ns()}"
    engine = sqlalchemy.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sqlalchemy.text(f"CREATE SCHEMA {name}"))
    engine.dispose()
    return f"{url}?options=-csearch_path%3D{name}"


def round_trials(result: dict, model: str = "logistic_regression") -> list[dict]:
    entry = next(m for m in result["models"] if m["model"] == model)
    return entry["children"]


def check_exact_budget(result: dict, budget: int) -> dict:
    model = result["models"][0]
    trials = model["children"]
    numbers = [t["number"] for t in trials]
    assert len(numbers) == len(set(numbers))
    finished = [t for t in trials if t["state"] in ("COMPLETE", "PRUNED")]
    assert len(finished) == budget, [(t["number"], t["state"]) for t in trials]
    assert model["stopped_by"] == "trial budget"
    assert all(t["worker"] for t in finished)
    return model


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=NEEDS_POSTGRES)])
def test_two_workers_spend_exactly_the_trial_budget(xor_setup, tmp_path, backend):
    parts, _, _, plan = xor_setup
    url = (
        f"sqlite:///{tmp_path / 'optuna.db'}"
        if backend == "sqlite"
        else fresh_schema(POSTGRES)
    )
    budget = 12
    result = tune_models(
        with_search(plan, n_trials=budget, timeout_s=3600),
        parts["train"],
        ["logistic_regression"],
        DEFAULTS,
        options(url, workers=2),
        0,
    )
    model = check_exact_budget(result, budget)
    assert result["workers"] == {"on_this_machine": 2, "threads_each": 1} or (
        result["workers"]["on_this_machine"] == 2
    )
    # both processes ran trials: they start on the study together
    assert len(model["workers"]) == 2, model["workers"]
    assert sum(model["workers"].values()) == len(model["children"])
    # the defaults' trial ran once, as the first
    assert model["metrics"]["default_cv_mean"] is not None
    # the study's work order is closed: no worker joins it any more
    study = optuna.load_study(study_name=model["study_name"], storage=url)
    assert study.user_attrs["work_order"]["open"] is False


def test_one_worker_runs_the_trials_it_ran_before(xor_setup, tmp_path):
    """workers: 1 with a database proposes the very trials of a study in memory."""
    parts, _, _, plan = xor_setup
    args = (with_search(plan, n_trials=5, timeout_s=3600), parts["train"])
    in_memory = tune_models(*args, ["logistic_regression"], DEFAULTS, options(None), 0)
    stored = tune_models(
        *args,
        ["logistic_regression"],
        DEFAULTS,
        options(f"sqlite:///{tmp_path / 'o.db'}"),
        0,
    )
    params = [[t["params"] for t in round_trials(r)] for r in (in_memory, stored)]
    assert params[0] == params[1]


def test_workers_without_a_shared_storage_fall_back_to_one(xor_setup, caplog):
    parts, _, _, plan = xor_setup
    result = tune_models(
        with_search(plan, n_trials=3, timeout_s=3600),
        parts["train"],
        ["logistic_regression"],
        DEFAULTS,
        options(None, workers=3),
        0,
    )
    assert result["workers"]["on_this_machine"] == 1
    assert "kept in memory" in caplog.text
    check_exact_budget(result, 3)


_DOOMED_WORKER = textwrap.dedent(
    """
    import sys, polars as pl
    from sklearn.linear_model import LogisticRegression
    from model_training.lib.training.workers import context_from_order, join_studies

    def hang(self, *args, **kwargs):  # a fit that never ends
        print("fitting", flush=True)
        import time
        time.sleep(3600)

    LogisticRegression.fit = hang
    url, train_path = sys.argv[1], sys.argv[2]
    train = pl.read_parquet(train_path)
    print("ready", flush=True)
    join_studies(url, "xor", lambda order: context_from_order(order, train, url),
                 "doomed", idle_s=600, poll_s=0.1)
    """
)


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=NEEDS_POSTGRES)])
def test_a_worker_killed_mid_trial_does_not_block_the_run(xor_setup, tmp_path, backend):
    """A worker from elsewhere joins the study through its work order, starts a
    trial and is killed (SIGKILL) in the middle of its fit. Its heartbeat
    stops, the trial is failed after the grace period, and the run re-runs the
    slot: the study still holds exactly the budget."""
    from model_training.lib.training.objective import Claim
    from model_training.lib.training.search import open_storage
    from model_training.lib.training.study import open_study, study_setup, tuning_context
    from model_training.lib.training.workers import ORDER_KEY, work_order

    parts, _, _, plan = xor_setup
    url = (
        f"sqlite:///{tmp_path / 'optuna.db'}"
        if backend == "sqlite"
        else fresh_schema(POSTGRES)
    )
    budget = 5
    searched = with_search(plan, n_trials=budget, timeout_s=3600)
    opts = options(url)
    defaults = {k: dict(v) for k, v in DEFAULTS.items()}
    # the study as the run opens it, with its work order published
    ctx = tuning_context(searched, parts["train"], opts, 0, defaults, {})
    setup = study_setup(ctx, "logistic_regression")
    study = open_study(ctx, setup, open_storage(url, opts.heartbeat))
    study.set_user_attr(
        ORDER_KEY, work_order(ctx, setup, Claim("r0", budget, "run"), time.time() + 600)
    )
    train_path = tmp_path / "train.parquet"
    parts["train"].write_parquet(train_path)
    worker = subprocess.Popen(
        [sys.executable, "-c", _DOOMED_WORKER, url, str(train_path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=PROJECT_ROOT,
    )
    try:
        assert worker.stdout.readline().strip() == "ready"
        assert worker.stdout.readline().strip() == "fitting"  # mid-trial
        running = [
            t for t in study.get_trials() if t.state == optuna.trial.TrialState.RUNNING
        ]
        assert [t.user_attrs.get("worker") for t in running] == ["doomed"]
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=60)
    finally:
        worker.kill()
    result = tune_models(
        searched, parts["train"], ["logistic_regression"], DEFAULTS, opts, 0
    )
    model = check_exact_budget(result, budget)
    dead = [t for t in model["children"] if t["worker"] == "doomed"]
    assert [t["state"] for t in dead] == ["FAIL"]
    assert "heartbeat" in dead[0]["stopped"]


def test_a_worker_refuses_data_that_are_not_the_runs(xor_setup, tmp_path):
    from model_training.lib.training.objective import Claim
    from model_training.lib.training.study import study_setup, tuning_context
    from model_training.lib.training.workers import (
        DataMismatch,
        context_from_order,
        work_order,
    )

    parts, _, _, plan = xor_setup
    opts = options(f"sqlite:///{tmp_path / 'o.db'}")
    ctx = tuning_context(plan, parts["train"], opts, 0, dict(DEFAULTS), {})
    order = work_order(
        ctx, study_setup(ctx, "logistic_regression"), Claim("r", 3, "x"), 0.0
    )
    rebuilt = context_from_order(order, parts["train"], opts.storage)
    assert rebuilt.data_hash == ctx.data_hash
    assert study_setup(rebuilt, "logistic_regression") == study_setup(
        ctx, "logistic_regression"
    ) or (
        study_setup(rebuilt, "logistic_regression").study_name
        == study_setup(ctx, "logistic_regression").study_name
    )
    with pytest.raises(DataMismatch, match="train_features.csv"):
        context_from_order(order, parts["train"].head(50), opts.storage)
