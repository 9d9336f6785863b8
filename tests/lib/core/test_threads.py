"""The thread count: `auto` is the usable cores, a number is taken as given,
anything else is refused; fits read the run's setting."""

from __future__ import annotations

import pytest

from model_training.lib.core.threads import (
    THREADS_ENV,
    fit_threads,
    resolve_threads,
    usable_cores,
)


def test_auto_is_every_usable_core_and_numbers_are_taken_as_given():
    assert resolve_threads("auto") == resolve_threads(" AUTO ") == usable_cores() >= 1
    assert resolve_threads(3) == resolve_threads("3") == 3


@pytest.mark.parametrize("bad", [0, -1, "two", 1.5, True, ""])
def test_anything_else_is_refused(bad):
    with pytest.raises(ValueError, match="'auto' or a whole number of at least 1"):
        resolve_threads(bad)


def test_fits_read_the_runs_setting(monkeypatch):
    monkeypatch.setenv(THREADS_ENV, "3")
    assert fit_threads() == 3
    monkeypatch.setenv(THREADS_ENV, "nonsense")
    assert fit_threads() == usable_cores()
    monkeypatch.delenv(THREADS_ENV)
    assert fit_threads() == usable_cores()


def _pid(_: int) -> int:
    import os

    return os.getpid()


def _nap(_: int) -> int:
    """A task long enough for both workers to take some."""
    import time

    time.sleep(0.2)
    return _pid(0)


def test_warmed_workers_are_the_ones_the_first_parallel_call_uses(monkeypatch):
    from model_training.lib.core import threads

    monkeypatch.setenv(THREADS_ENV, "2")
    assert threads.warm_workers(("json",))
    threads.wait_for_warm_workers()
    assert threads.warmed
    pids = threads.in_workers(_nap, [(i,) for i in range(6)], 2)
    # the same two processes: none was started again
    assert set(threads.warmed) <= set(pids) and len(set(pids)) == 2
    # one thread: no worker processes to start
    monkeypatch.setenv(THREADS_ENV, "1")
    assert not threads.warm_workers(("json",))


def test_the_first_parallel_call_waits_for_a_warm_up_under_way(monkeypatch):
    import threading

    from model_training.lib.core import threads

    monkeypatch.setenv(THREADS_ENV, "2")
    release = threading.Event()
    started = threading.Thread(target=release.wait, daemon=True)
    started.start()
    monkeypatch.setattr(threads, "_warming", [started])
    waited = []

    def call():
        threads.in_workers(_pid, [(0,), (1,)], 2)
        waited.append(release.is_set())

    caller = threading.Thread(target=call)
    caller.start()
    caller.join(timeout=1)
    assert caller.is_alive() and not waited  # still waiting for the warm-up
    release.set()
    caller.join(timeout=120)
    assert waited == [True]


def _fails_on(i: int) -> int:
    if i == 1:
        raise ValueError("k_neighbors > n_samples")
    return _pid(i)


class _Unpicklable(Exception):
    def __reduce__(self):
        raise TypeError("cannot pickle")


def _unpicklable(_: int) -> int:
    raise _Unpicklable("a lock inside")


def test_a_task_that_raises_leaves_the_workers_running(monkeypatch):
    from model_training.lib.core import threads

    monkeypatch.setenv(THREADS_ENV, "2")
    before = set(threads.in_workers(_nap, [(i,) for i in range(4)], 2))
    with pytest.raises(ValueError, match="k_neighbors"):
        threads.in_workers(_fails_on, [(0,), (1,)], 2)
    with pytest.raises(RuntimeError, match="_Unpicklable: a lock inside"):
        threads.in_workers(_unpicklable, [(0,), (1,)], 2)
    after = set(threads.in_workers(_nap, [(i,) for i in range(4)], 2))
    assert after == before  # the same two processes, none started again


def _openmp_threads() -> int:
    from sklearn.utils._openmp_helpers import _openmp_effective_n_threads

    return _openmp_effective_n_threads()


def test_scoring_a_few_rows_uses_one_openmp_thread_and_restores_the_pools():
    from threadpoolctl import threadpool_limits

    from model_training.lib.core.threads import FEW_ROWS, scoring_threads

    with threadpool_limits(limits=2, user_api="openmp"):
        assert _openmp_threads() == 2
        with scoring_threads(1):
            assert _openmp_threads() == 1
        assert _openmp_threads() == 2
        with scoring_threads(FEW_ROWS):
            assert _openmp_threads() == 1
        with scoring_threads(FEW_ROWS + 1):  # a batch keeps the run's threads
            assert _openmp_threads() == 2


def test_single_row_latency_is_timed_on_one_openmp_thread():
    """As the package and the served model score a few rows."""
    from threadpoolctl import threadpool_limits

    from model_training.lib.core.profiling import predict_latency_ms

    seen: list[int] = []
    with threadpool_limits(limits=2, user_api="openmp"):
        latency = predict_latency_ms(lambda _: seen.append(_openmp_threads()), None, 5)
        assert _openmp_threads() == 2
    assert seen == [1] * 6  # the warm-up and five timed calls
    assert set(latency) == {"p50", "p95", "p99"}


def test_an_openmp_library_loaded_after_the_first_scoring_is_limited_too(
    monkeypatch,
):
    """The controller sees the libraries loaded when it was made: after a new
    import (LightGBM brings a second OpenMP library) it is made again."""
    import sys

    from model_training.lib.core import threads

    with threads.scoring_threads(1):
        pass
    first = threads._controller["controller"]
    with threads.scoring_threads(1):
        pass
    assert threads._controller["controller"] is first  # nothing imported since
    monkeypatch.setitem(sys.modules, "a_module_imported_since", object())
    with threads.scoring_threads(1):
        pass
    assert threads._controller["controller"] is not first
