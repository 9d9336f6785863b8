"""Measuring models: fit time, peak memory, predict latency, throughput, size."""

from __future__ import annotations

import io
import os
import threading
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import joblib
import numpy as np

_STATM = Path("/proc/self/statm")
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _rss_bytes() -> int | None:
    try:
        return int(_STATM.read_text().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return None


class _PeakSampler(threading.Thread):
    """Samples resident memory every few milliseconds while a block runs."""

    def __init__(self, interval: float = 0.005) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self.peak = _rss_bytes() or 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.peak = max(self.peak, _rss_bytes() or 0)
            self._stop_event.wait(self.interval)

    def stop(self) -> int:
        self._stop_event.set()
        self.join()
        return max(self.peak, _rss_bytes() or 0)


def measure(call: Callable[[], Any]) -> tuple[Any, float, float]:
    """Run ``call``; return its result, wall seconds and peak extra memory in MiB.

    Peak memory is the growth of the resident set, sampled every 5 ms (it covers
    native libraries such as CatBoost). Where ``/proc`` is missing (not Linux),
    Python's traced allocations are used instead; tracing slows fitting several
    times, so it is never used where sampling works.
    """
    before = _rss_bytes()
    if before is None:
        tracemalloc.start()
        start = time.perf_counter()
        try:
            result = call()
        finally:
            seconds = time.perf_counter() - start
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
        return result, seconds, peak / 2**20
    sampler = _PeakSampler()
    sampler.start()
    start = time.perf_counter()
    try:
        result = call()
    finally:
        seconds = time.perf_counter() - start
        peak = sampler.stop()
    return result, seconds, max(peak - before, 0) / 2**20


def predict_latency_ms(
    predict: Callable[[Any], Any], one_row: Any, repeats: int = 50
) -> dict[str, float]:
    """Single-row prediction latency: p50, p95 and p99 over ``repeats`` calls
    (after one warm-up), on one OpenMP thread as the package and the served
    model score a few rows (:func:`~model_training.lib.core.threads.scoring_threads`):
    on two threads a HistGradientBoosting candidate's p95 was 1,042 ms in a
    run, beside other libraries' spinning threads, and its 30 timed calls
    took 4 of the candidate stage's 11 seconds."""
    from model_training.lib.core.threads import scoring_threads

    samples = []
    with scoring_threads(1):
        predict(one_row)
        for _ in range(repeats):
            start = time.perf_counter()
            predict(one_row)
            samples.append((time.perf_counter() - start) * 1000)
    return {
        "p50": float(np.percentile(samples, 50)),
        "p95": float(np.percentile(samples, 95)),
        "p99": float(np.percentile(samples, 99)),
    }


def throughput_rows_per_s(
    predict: Callable[[Any], Any], batch: Any, rows: int
) -> float:
    """Batch prediction throughput in rows per second."""
    start = time.perf_counter()
    predict(batch)
    return rows / max(time.perf_counter() - start, 1e-9)


def serialized_size_mb(model: Any) -> float:
    """Size of the joblib-pickled model in MiB."""
    buffer = io.BytesIO()
    joblib.dump(model, buffer, compress=0)
    return buffer.tell() / 2**20
