"""How many threads one process's model fits use.

Several libraries bring their own thread pools (OpenMP in scikit-learn's
HistGradientBoosting and LightGBM, BLAS under numpy, CatBoost's own). Left
alone, each starts one thread per core of the machine, whatever the process
was given; on a busy machine their spinning threads fight for the same cores
and a fit can take ten to a hundred times its quiet time. The run sets one
number (parameter ``threads``), the hook applies it to every pool
(threadpoolctl, and the environment for libraries loaded later), and the
estimators that take a thread count read it from :func:`fit_threads`.
A thread count does not change CatBoost's model (tested); LightGBM stays on
one thread, which its deterministic mode needs for bit-for-bit results.
"""

from __future__ import annotations

import os
import threading
from typing import Any

# the environment variable the run hook sets, which fit_threads() reads
THREADS_ENV = "MODEL_TRAINING_THREADS"
# the pools of libraries loaded after the run starts read these at load time
POOL_ENVS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def resolve_threads(setting: Any) -> int:
    """The ``threads`` parameter as a count: ``auto`` is every usable core; a
    whole number is taken as given. Raises ``ValueError`` otherwise."""
    if isinstance(setting, str) and setting.strip().lower() == "auto":
        return usable_cores()
    if isinstance(setting, bool):
        raise ValueError(
            f"expected 'auto' or a whole number of at least 1, got {setting!r}"
        )
    try:
        count = int(str(setting).strip())
    except ValueError:
        raise ValueError(
            f"expected 'auto' or a whole number of at least 1, got {setting!r}"
        ) from None
    if count < 1:
        raise ValueError(
            f"expected 'auto' or a whole number of at least 1, got {setting!r}"
        )
    return count


def fit_threads() -> int:
    """Threads a model fit may use: the run's setting, else every usable core."""
    value = os.environ.get(THREADS_ENV, "")
    return int(value) if value.isdigit() and int(value) > 0 else usable_cores()


# work is spread over processes only while copying its data to each is cheap
PARALLEL_MAX_BYTES = 256 * 2**20


def process_workers(tasks: int, data_bytes: int) -> int:
    """Worker processes for ``tasks`` independent tasks over ``data_bytes`` of
    data: the run's threads (at most one per task) when the data is at most
    :data:`PARALLEL_MAX_BYTES`, else 1 (in process; a fit then uses the threads
    itself)."""
    threads = fit_threads()
    if threads < 2 or tasks < 2 or data_bytes > PARALLEL_MAX_BYTES:
        return 1
    return min(threads, tasks)


def in_workers(func: Any, tasks: list[tuple[Any, ...]], workers: int) -> list[Any]:
    """``func(*task)`` for every task, in order: in ``workers`` loky processes
    (reused from call to call), each with its share of the run's threads for
    its OpenMP/BLAS pools, or in process when ``workers`` is 1. ``func`` and the
    tasks must be picklable. A task's exception is raised here once the call's
    other tasks have ended (the workers stay: see :func:`_carried`)."""
    if workers <= 1:
        return [func(*task) for task in tasks]
    wait_for_warm_workers()
    results = _parallel(_carried, [(func, *task) for task in tasks], workers)
    for result in results:
        if isinstance(result, _Raised):
            raise result.error
    return results


class _Raised:
    """An exception a task raised in a worker, carried back as its result."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


def _carried(func: Any, *task: Any) -> Any:
    """``func(*task)``, or what it raised as a :class:`_Raised` value. Raised
    in a worker, an exception makes joblib stop the pool and start new
    processes, whose imports cost seconds (8 s a trial on a busy machine,
    every time a fold's SMOTE found too few neighbours); carried back, it is
    raised here once every task of the call has ended, and the workers stay."""
    try:
        return func(*task)
    except Exception as error:
        import pickle

        try:
            pickle.dumps(error)
        except Exception:  # not picklable: sent back as text
            error = RuntimeError(f"{type(error).__name__}: {error}")
        return _Raised(error)


def _parallel(func: Any, tasks: list[tuple[Any, ...]], workers: int) -> list[Any]:
    from joblib import Parallel, delayed, parallel_config

    share = max(1, fit_threads() // workers)
    # joblib would pass on the OMP_NUM_THREADS the run set for itself
    with parallel_config(backend="loky", inner_max_num_threads=share):
        return Parallel(n_jobs=workers)(delayed(func)(*task) for task in tasks)


# a warm-up task lasts at least this long, so that each worker takes one
# (a worker done at once would take the next task too, and another worker
# would import on its first fold instead)
WARM_TASK_S = 0.5


def _import_modules(modules: tuple[str, ...]) -> int:
    """Import ``modules`` (in a worker process), taking at least
    :data:`WARM_TASK_S`; the worker's process id."""
    import importlib
    import time

    started = time.monotonic()
    for name in modules:
        importlib.import_module(name)
    time.sleep(max(0.0, WARM_TASK_S - (time.monotonic() - started)))
    return os.getpid()


# the warm-up under way (a list, so that it is changed in place)
_warming: list[threading.Thread] = []
# the process ids of the last warm-up's workers (for the tests)
warmed: list[int] = []


def warm_workers(modules: tuple[str, ...]) -> bool:
    """Start the worker processes :func:`in_workers` will use (one per run
    thread) in a background thread, each importing ``modules``: a worker's
    start-up (about 2.5 s of imports of scikit-learn, CatBoost, polars) then
    overlaps what the run does before its first cross-validation. The first
    :func:`in_workers` call waits for it, so the workers are the same ones
    either way and nothing depends on the timing. False (nothing started)
    with fewer than two threads or when a warm-up is under way."""
    workers = process_workers(fit_threads(), 0)
    if workers < 2 or any(thread.is_alive() for thread in _warming):
        return False

    def warm() -> None:
        try:
            warmed[:] = _parallel(_import_modules, [(modules,)] * workers, workers)
        except Exception:  # the first real call starts the workers instead
            pass

    thread = threading.Thread(target=warm, name="warm-workers", daemon=True)
    _warming[:] = [thread]
    thread.start()
    return True


def wait_for_warm_workers() -> None:
    """Wait until a warm-up started by :func:`warm_workers` has ended."""
    while _warming:
        thread = _warming.pop()
        if thread is not threading.current_thread():
            thread.join()


class thread_share:
    """Within the block, this process fits with ``threads`` threads (its share
    when several worker processes split the run's cores): the setting
    :func:`fit_threads` reads, the environment of pools loaded later, and
    threadpoolctl's limits on the pools already loaded. Restored on exit."""

    def __init__(self, threads: int) -> None:
        self.threads = max(1, int(threads))
        self._saved: dict[str, str | None] = {}
        self._limits: Any = None

    def __enter__(self) -> thread_share:
        from threadpoolctl import threadpool_limits

        self._saved = {k: os.environ.get(k) for k in (THREADS_ENV, *POOL_ENVS)}
        for key in self._saved:
            os.environ[key] = str(self.threads)
        self._limits = threadpool_limits(limits=self.threads)
        return self

    def __exit__(self, *exc: Any) -> None:
        self._limits.restore_original_limits()
        for key, value in self._saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


# scoring at most this many rows runs on one OpenMP thread (see scoring_threads)
FEW_ROWS = 64
# threadpoolctl's controller and the count of imported modules when it was
# made: an import since may have loaded another OpenMP library (LightGBM
# brings its own beside scikit-learn's), which the controller would not see
_controller: dict[str, Any] = {}


def scoring_threads(rows: int) -> Any:
    """A context in which scoring ``rows`` rows uses one OpenMP thread when
    they are at most :data:`FEW_ROWS`, else the run's threads (a no-op).
    HistGradientBoosting spreads even one row over every OpenMP thread: on a
    busy two-core machine a one-row prediction took p50 23 ms and p95 112 ms
    on two threads, 9 and 11 ms on one (1,272 trees); the limit itself costs
    about 15 microseconds (threadpoolctl's controller, made again only after
    new imports)."""
    import sys
    from contextlib import nullcontext

    if rows > FEW_ROWS:
        return nullcontext()
    if _controller.get("modules") != len(sys.modules):
        from threadpoolctl import ThreadpoolController

        _controller["controller"] = ThreadpoolController()
        _controller["modules"] = len(sys.modules)
    return _controller["controller"].limit(limits=1, user_api="openmp")
