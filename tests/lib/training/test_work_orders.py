"""Work orders: a worker started apart joins a study through its order, a
worker killed mid-trial gives its slot back, and other data are refused."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time

import optuna
import pytest

from model_training.lib.training.tuning import tune_models
from tests.conftest import PROJECT_ROOT
from tests.lib.training.test_tuning import DEFAULTS, with_search
from tests.lib.training.test_workers import (
    NEEDS_POSTGRES,
    check_exact_budget,
    options,
    storage_url,
)

_DOOMED_WORKER = textwrap.dedent(
    """
    import sys, polars as pl
    from sklearn.linear_model import LogisticRegression
    from model_training.lib.training.work_orders import context_from_order, join_studies

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


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=NEEDS_POSTGRES)]
)
def test_a_worker_killed_mid_trial_does_not_block_the_run(xor_setup, tmp_path, backend):
    """A worker from elsewhere joins the study through its work order, starts a
    trial and is killed (SIGKILL) in the middle of its fit. Its heartbeat
    stops, the trial is failed after the grace period, and the run re-runs the
    slot: the study still holds exactly the budget."""
    from model_training.lib.training.objective import Claim
    from model_training.lib.training.search import open_storage
    from model_training.lib.training.study import (
        open_study,
        study_setup,
        tuning_context,
    )
    from model_training.lib.training.work_orders import ORDER_KEY, work_order

    parts, _, _, plan = xor_setup
    url = storage_url(backend, tmp_path)
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
    from model_training.lib.training.work_orders import (
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
    # the worker opens the very study the run opened
    assert (
        study_setup(rebuilt, "logistic_regression").study_name
        == study_setup(ctx, "logistic_regression").study_name
    )
    with pytest.raises(DataMismatch, match=r"train_features\.csv"):
        context_from_order(order, parts["train"].head(50), opts.storage)
