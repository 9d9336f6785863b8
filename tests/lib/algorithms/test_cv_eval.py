"""Cross-validated fitting: folds side by side give the sequential answer."""

from __future__ import annotations

import os
from functools import partial

import numpy as np
import polars as pl
import pytest
from sklearn.linear_model import LogisticRegression

from model_training.lib.algorithms import cv_eval
from model_training.lib.algorithms.cv import cv_splits, order_for_cv
from model_training.lib.algorithms.registry import algorithm, build_pipeline, fit_params
from model_training.lib.core.frames import split_xy
from model_training.lib.core.threads import THREADS_ENV
from model_training.lib.problems import get_problem
from model_training.lib.training.objective import EarlyStoppedFit


@pytest.fixture
def folds(xor_setup):
    parts, _, _, plan = xor_setup
    ordered = order_for_cv(parts["train"], plan)
    x, y = split_xy(ordered, plan)
    splits = cv_splits(ordered, y, plan, 0)
    problem = get_problem(plan.spec.problem_type)
    return plan, x, y, splits, problem


def _scores(plan, x, y, splits, problem, name, threads, monkeypatch):
    monkeypatch.setenv(THREADS_ENV, threads)
    algo = algorithm(problem.task, name)
    params = {"iterations": 150} if name == "catboost" else {"max_iter": 150}
    pipeline = build_pipeline(plan, algo, params, 0)
    fitted: list = []
    scores = cv_eval.fold_scores(
        pipeline,
        x,
        y,
        splits,
        plan,
        partial(problem.predict, plan=plan),
        partial(fit_params, plan, "none"),
        fit=EarlyStoppedFit(plan, "none", algo, 0),
        fitted=fitted,
    )
    return scores, fitted


@pytest.mark.parametrize("name", ["catboost", "hist_gradient_boosting"])
def test_folds_in_two_processes_give_the_sequential_scores(folds, name, monkeypatch):
    sequential = _scores(*folds, name, "1", monkeypatch)
    parallel = _scores(*folds, name, "2", monkeypatch)
    assert cv_eval.fold_workers(folds[1], len(folds[3])) == 2
    assert parallel == sequential  # scores and learned iterations, fold by fold
    assert all(count is not None for count, _ in parallel[1])


def test_out_of_fold_predictions_do_not_depend_on_the_workers(folds, monkeypatch):
    plan, x, y, splits, problem = folds
    pipeline = build_pipeline(plan, algorithm(problem.task, "random_forest"), {}, 0)
    outputs = {}
    for threads in ("1", "2"):
        monkeypatch.setenv(THREADS_ENV, threads)
        outputs[threads] = cv_eval.out_of_fold(
            pipeline,
            x,
            y,
            splits,
            partial(problem.predict, plan=plan),
            partial(fit_params, plan, "none"),
        )
    np.testing.assert_array_equal(outputs["1"][0], outputs["2"][0])
    np.testing.assert_array_equal(outputs["1"][1], outputs["2"][1])
    np.testing.assert_array_equal(outputs["1"][2], outputs["2"][2])


def test_a_stop_after_the_first_fold_stops_the_others(folds, monkeypatch):
    plan, x, y, splits, problem = folds
    monkeypatch.setenv(THREADS_ENV, "2")

    class Stop(Exception):
        pass

    def report(fold, mean):
        raise Stop

    scores: list = []
    pipeline = build_pipeline(
        plan, algorithm(problem.task, "logistic_regression"), {}, 0
    )
    with pytest.raises(Stop):
        cv_eval.fold_scores(
            pipeline,
            x,
            y,
            splits,
            plan,
            partial(problem.predict, plan=plan),
            partial(fit_params, plan, "none"),
            report,
            collect=scores,
        )
    assert len(scores) == 1


def test_folds_run_in_process_on_one_thread_or_on_large_data(folds, monkeypatch):
    x = folds[1]
    monkeypatch.setenv(THREADS_ENV, "1")
    assert cv_eval.fold_workers(x, 5) == 1
    monkeypatch.setenv(THREADS_ENV, "4")
    assert cv_eval.fold_workers(x, 3) == 3  # never more workers than folds
    assert cv_eval.fold_workers(x, 1) == 1
    from model_training.lib.core import threads

    monkeypatch.setattr(threads, "PARALLEL_MAX_BYTES", x.estimated_size() - 1)
    assert cv_eval.fold_workers(x, 5) == 1  # copying the rows to each would cost


def _fit_reporting_process(model, x, y):
    model.fit(x.to_numpy(), y)
    return os.getpid(), os.environ[THREADS_ENV]


def _predict(model, x):
    return model.predict(x.to_numpy()), None


def test_folds_run_in_worker_processes_each_with_its_share_of_threads(monkeypatch):
    monkeypatch.setenv(THREADS_ENV, "2")
    x = pl.DataFrame({"a": np.arange(100.0)})
    y = (np.arange(100) > 50).astype(int)
    halves = [np.arange(0, 100, 2), np.arange(1, 100, 2)]
    splits = [(halves[0], halves[1]), (halves[1], halves[0])] * 2
    infos = [
        info
        for _, info in cv_eval.run_folds(
            LogisticRegression(), x, y, splits, _predict, dict, _fit_reporting_process
        )
    ]
    assert len(infos) == 4
    assert os.getpid() not in {pid for pid, _ in infos}
    assert {threads for _, threads in infos} == {"1"}  # 2 threads, 2 workers
    # a fifth fold, alone in its batch, runs here on both threads
    infos = [
        info
        for _, info in cv_eval.run_folds(
            LogisticRegression(),
            x,
            y,
            [*splits, splits[0]],
            _predict,
            dict,
            _fit_reporting_process,
        )
    ]
    assert [pid == os.getpid() for pid, _ in infos] == [False] * 4 + [True]
    assert infos[-1][1] == "2"


def test_a_stop_between_folds_keeps_the_worker_processes(monkeypatch):
    """Cancelling running tasks would make joblib kill and respawn its workers
    (seconds of imports per pruned trial); stops fall between batches instead."""
    monkeypatch.setenv(THREADS_ENV, "2")
    x = pl.DataFrame({"a": np.arange(100.0)})
    y = (np.arange(100) > 50).astype(int)
    halves = [np.arange(0, 100, 2), np.arange(1, 100, 2)]
    splits = [(halves[0], halves[1]), (halves[1], halves[0])] * 3

    seen = set()  # every worker process that fitted a fold, over all runs

    def run():
        return cv_eval.run_folds(
            LogisticRegression(), x, y, splits, _predict, dict, _fit_reporting_process
        )

    seen |= {pid for (_, (pid, _)) in run()}
    for _ in range(3):
        folds = run()
        seen.add(next(folds)[1][0])
        folds.close()
    seen |= {pid for (_, (pid, _)) in run()}
    # respawned workers would bring new process ids; which of the two workers
    # takes a fold is up to joblib (on a busy machine one may take them all)
    assert len(seen) <= 2
