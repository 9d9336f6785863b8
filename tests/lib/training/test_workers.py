"""Tuning workers: several processes fill one study with exactly its trial
budget, none twice; a worker killed mid-trial gives its slot back; a worker
from elsewhere joins through the study's work order and refuses other data."""

from __future__ import annotations

import os
import time

import optuna
import pytest

from model_training.lib.training.tuning import tune_models
from tests.conftest import conf_params
from tests.lib.training.test_tuning import _OPTIONS_RAW, DEFAULTS, with_search

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
            # a logistic regression on the XOR is a flat search, which would
            # stop before the budget these tests count
            "flat_search": None,
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


def storage_url(backend: str, folder) -> str:
    """A new, empty study storage: a SQLite file, or a PostgreSQL schema."""
    if backend == "sqlite":
        return f"sqlite:///{folder / 'optuna.db'}"
    return fresh_schema(POSTGRES)


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


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=NEEDS_POSTGRES)]
)
def test_two_workers_spend_exactly_the_trial_budget(xor_setup, tmp_path, backend):
    parts, _, _, plan = xor_setup
    url = storage_url(backend, tmp_path)
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


def test_a_resumed_study_logs_only_the_trials_it_runs(xor_setup, tmp_path, caplog):
    """A rerun that finds its study complete runs and logs no trial again."""
    import logging

    parts, _, _, plan = xor_setup
    args = (
        with_search(plan, n_trials=3, timeout_s=3600),
        parts["train"],
        ["logistic_regression"],
        DEFAULTS,
        options(f"sqlite:///{tmp_path / 'o.db'}"),
        0,
    )
    with caplog.at_level(logging.INFO):
        tune_models(*args)
    assert caplog.text.count("Tuning logistic_regression trial") == 3
    caplog.clear()
    with caplog.at_level(logging.INFO):
        again = tune_models(*args)
    assert "resuming study" in caplog.text
    assert "Tuning logistic_regression trial" not in caplog.text
    check_exact_budget(again, 3)


def test_a_worker_follows_the_deadline_and_closing_of_its_order():
    """After each trial a worker of a shared study reads the round's work
    order: closed, or past the deadline the run brought forward, it starts
    no further trial; an order of another round does not stop it."""
    from model_training.lib.training.workers import ORDER_KEY, FollowOrder

    def trials_run(order: dict | None) -> int:
        study = optuna.create_study()
        if order is not None:
            study.set_user_attr(ORDER_KEY, order)
        follow = FollowOrder("r1")
        study.optimize(lambda trial: 0.0, n_trials=5, callbacks=[follow])
        return len(study.trials)

    later = time.time() + 3600
    assert trials_run(None) == 5
    assert trials_run({"round": "r1", "open": True, "deadline_epoch": later}) == 5
    assert trials_run({"round": "r0", "open": False, "deadline_epoch": 0}) == 5
    assert trials_run({"round": "r1", "open": False, "deadline_epoch": later}) == 1
    assert trials_run({"round": "r1", "open": True, "deadline_epoch": 0}) == 1


def test_the_other_workers_stop_when_the_run_brings_its_deadline_forward(
    xor_setup, tmp_path
):
    """The run's first trial projects a refit on a billion rows, due at once:
    the run writes that deadline into the study's work order, and its second
    worker process, which started with the round's far deadline, starts no
    further trial either (before, it ran the budget's ten)."""
    from model_training.lib.core.budget import Budget

    parts, _, _, plan = xor_setup
    url = storage_url("sqlite", tmp_path)
    budget = Budget(
        time_s=10_000.0,
        started=time.time(),
        checkpoints={"candidates": 0.2, "tuning": 0.65, "selection": 0.82},
    )
    result = tune_models(
        with_search(plan, n_trials=10, timeout_s=3600),
        parts["train"],
        ["random_forest"],
        DEFAULTS,
        options(url, workers=2),
        0,
        budget=budget,
        candidates={"rows": {"train": 10**9, "validation": 0}, "models": []},
    )
    model = result["models"][0]
    finished = [t for t in model["children"] if t["state"] in ("COMPLETE", "PRUNED")]
    # each worker finishes the trial it is running and starts none after the
    # run's first trial has ended (the other process may finish a few while
    # that one runs, more on a busy machine); without the order's deadline
    # it ran the whole budget of ten
    assert 1 <= len(finished) <= 6, [(t["worker"], t["number"]) for t in finished]
    assert model["stopped_by"] == "run budget"
    study = optuna.load_study(study_name=model["study_name"], storage=url)
    order = study.user_attrs["work_order"]
    assert order["open"] is False
    assert order["deadline_epoch"] < budget.started + 60  # not the round's far one
