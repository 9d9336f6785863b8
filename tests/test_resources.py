"""The run's thread count reaches every thread pool and CatBoost, and the
machine's own limits come back when the run ends."""

from __future__ import annotations

import os

import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from model_training.lib.core.errors import InputError
from model_training.lib.core.threads import POOL_ENVS, THREADS_ENV
from model_training.resources import ResourceHook, check_threads


class _Catalog:
    def __init__(self, threads):
        self.threads = threads

    def load(self, name):
        assert name == "params:threads"
        return self.threads


def _pool_threads() -> set[int]:
    return {pool["num_threads"] for pool in threadpool_info()}


def test_the_run_limits_every_pool_and_restores_them(monkeypatch):
    import sklearn.ensemble  # noqa: F401  (loads scikit-learn's OpenMP runtime)

    monkeypatch.setenv(THREADS_ENV, "7")
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    with threadpool_limits(limits=2):
        hook = ResourceHook()
        hook.before_pipeline_run(run_params={}, pipeline=None, catalog=_Catalog(1))
        assert _pool_threads() == {1}
        assert os.environ[THREADS_ENV] == "1"
        assert all(os.environ[key] == "1" for key in POOL_ENVS)
        # a library that resets its pool is limited again before the next node
        threadpool_limits(limits=2)
        hook.before_node_run()
        assert _pool_threads() == {1}
        # CatBoost, which has its own pool, is built with the run's count
        from model_training.lib.algorithms.classifiers import CLASSIFIERS

        catboost = next(a for a in CLASSIFIERS if a.name == "catboost")
        assert catboost.make({}, 0, None).get_params()["thread_count"] == 1
        hook.after_pipeline_run()
        assert _pool_threads() == {2}
        assert os.environ[THREADS_ENV] == "7"
        assert "OMP_NUM_THREADS" not in os.environ


def test_a_failed_run_restores_them_too():
    with threadpool_limits(limits=2):
        hook = ResourceHook()
        hook.before_pipeline_run(run_params={}, pipeline=None, catalog=_Catalog("1"))
        hook.on_pipeline_error()
        assert _pool_threads() == {2}


def test_a_bad_count_is_one_message_with_the_fix():
    with pytest.raises(InputError) as caught:
        check_threads("lots")
    text = str(caught.value)
    assert "'lots'" in text and "--params threads=auto" in text


def test_a_run_that_cross_validates_starts_its_workers_at_once(monkeypatch):
    from types import SimpleNamespace

    from model_training import resources

    started = []
    monkeypatch.setattr(resources, "warm_workers", started.append)

    def pipeline(*names):
        return SimpleNamespace(nodes=[SimpleNamespace(name=n) for n in names])

    with threadpool_limits(limits=2):
        hook = ResourceHook()
        hook.before_pipeline_run(
            run_params={}, pipeline=pipeline("validate_data"), catalog=_Catalog(2)
        )
        hook.after_pipeline_run()
        assert started == []
        hook.before_pipeline_run(
            run_params={},
            pipeline=pipeline("validate_data", "tune_hyperparameters"),
            catalog=_Catalog(2),
        )
        hook.after_pipeline_run()
    assert started == [resources.WORKER_MODULES]
