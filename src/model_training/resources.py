"""The run's share of the machine: its start (for the time budget, see
:mod:`model_training.lib.core.budget`) and one thread count for every thread
pool.

``threads`` (conf/base/parameters.yml, ``--params threads=2``; ``auto`` is every
core the process may use) is checked when the configuration is read, then
applied before the first node: threadpoolctl limits the OpenMP and BLAS pools
already loaded, the environment carries the count to pools loaded later and to
CatBoost (see :mod:`model_training.lib.core.threads`), and the limits are
re-applied before each node for libraries a node loaded. The original limits
and environment come back when the run ends.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from kedro.framework.hooks import hook_impl

from model_training.datasets.clock import clear_run_start, mark_run_start
from model_training.lib.core.errors import InputError, Problem
from model_training.lib.core.threads import (
    POOL_ENVS,
    THREADS_ENV,
    resolve_threads,
    usable_cores,
    warm_workers,
)

logger = logging.getLogger(__name__)

# nodes whose folds run in worker processes: a run with one of them starts its
# workers at once, in the background (their imports overlap the first nodes)
CROSS_VALIDATING_NODES = frozenset(
    {"tune_hyperparameters", "select_final_model", "compute_learning_curve"}
)
# what every worker imports before its first fold (the fitting code and the
# boosting libraries the default candidates use)
WORKER_MODULES = (
    "model_training.lib.algorithms.cv_eval",
    "model_training.lib.algorithms.registry",
    "model_training.lib.algorithms.catboost_frames",
    "model_training.lib.problems",
    "lightgbm",
)


def check_threads(
    value: Any, where: str = "threads (--params or conf/*/parameters.yml)"
) -> int:
    """``value`` as a thread count, or one :class:`InputError` with the fix."""
    try:
        return resolve_threads(value)
    except ValueError as error:
        raise InputError(
            "Invalid thread count",
            [
                Problem(
                    where,
                    str(error),
                    "pass `--params threads=auto` (every usable core) or a count, "
                    "e.g. `--params threads=2`",
                )
            ],
        ) from None


class ResourceHook:
    """Applies the run's thread count to every thread pool, then restores them."""

    def __init__(self) -> None:
        self.threads: int | None = None
        self._saved_env: dict[str, str | None] = {}
        self._limits: Any = None

    @hook_impl
    def after_context_created(self, context: Any) -> None:
        check_threads(context.params.get("threads", "auto"))

    @hook_impl
    def before_pipeline_run(
        self, run_params: dict[str, Any], pipeline: Any, catalog: Any
    ) -> None:
        mark_run_start()
        try:
            setting = catalog.load("params:threads")
        except Exception:  # a catalog without the parameter: every core
            setting = "auto"
        self.threads = check_threads(setting)
        self._saved_env = {k: os.environ.get(k) for k in (THREADS_ENV, *POOL_ENVS)}
        for key in (THREADS_ENV, *POOL_ENVS):
            os.environ[key] = str(self.threads)
        from threadpoolctl import threadpool_limits

        self._limits = threadpool_limits(limits=self.threads)
        logger.info(
            "Fitting with %d thread(s) (%d usable core(s); --params threads=...)",
            self.threads,
            usable_cores(),
        )
        names = {node.name for node in getattr(pipeline, "nodes", [])}
        if names & CROSS_VALIDATING_NODES:
            warm_workers(WORKER_MODULES)

    @hook_impl
    def before_node_run(self) -> None:
        if self.threads is not None:
            from threadpoolctl import threadpool_limits

            threadpool_limits(limits=self.threads)  # pools a node loaded since

    @hook_impl
    def after_pipeline_run(self) -> None:
        self._restore()

    @hook_impl
    def on_pipeline_error(self) -> None:
        self._restore()

    def _restore(self) -> None:
        clear_run_start()
        if self._limits is not None:
            self._limits.restore_original_limits()
            self._limits = None
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env = {}
        self.threads = None
