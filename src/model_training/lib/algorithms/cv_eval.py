"""Cross-validated fitting: fold scores for tuning, out-of-fold predictions for finishing.

Folds run side by side when the run has several threads and the data are
small enough to copy (:func:`fold_workers`): one process per thread, each
fitting with one thread. On small data a fit is mostly Python overhead (a
random forest's per-tree checks, CatBoost's set-up) that threads inside one
fit cannot share out, so whole folds in parallel processes are what makes
two cores count. Each fold's model is seeded as in a sequential run and the
results come back in fold order, so the answer does not depend on the
number of workers; a caller that stops early (pruning, budget) stops the
remaining folds (at most one batch, one fold per worker, runs beyond it).
A fold left alone at the end runs in the calling process on all its threads.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import polars as pl
from sklearn.base import clone

from model_training.lib.core.metrics import compute_metrics
from model_training.lib.core.plan import ModelingPlan
from model_training.lib.core.threads import (
    THREADS_ENV,
    fit_threads,
    in_workers,
    process_workers,
)


def fold_workers(x: pl.DataFrame, folds: int) -> int:
    """Processes to run ``folds`` folds of ``x`` in (see
    :func:`~model_training.lib.core.threads.process_workers`)."""
    return process_workers(folds, x.estimated_size())


def worker_clone(pipeline: Any, threads: int | None) -> Any:
    """An unfitted clone of ``pipeline``; in a worker process (``threads``
    given), set to fit with that share of the run's threads, including the
    counts fixed when the pipeline was built in the parent (CatBoost's)."""
    model = clone(pipeline)
    if threads is not None:
        os.environ[THREADS_ENV] = str(threads)
        model.set_params(
            **{
                name: threads
                for name, value in model.get_params().items()
                if name.endswith(("thread_count", "n_jobs"))
                and isinstance(value, int)
                and value > threads
            }
        )
    return model


def _fit_fold(
    pipeline: Any,
    x_train: pl.DataFrame,
    y_train: np.ndarray,
    x_valid: pl.DataFrame,
    fit_kwargs: Callable[[np.ndarray], dict[str, Any]],
    predict: Callable[[Any, pl.DataFrame], tuple[np.ndarray, np.ndarray | None]],
    fit: Callable[[Any, pl.DataFrame, np.ndarray], Any] | None,
    threads: int | None,
) -> tuple[tuple[np.ndarray, np.ndarray | None], Any]:
    """One fold: fit a clone, predict the validation rows. ``threads`` is set
    for the fit when it runs in a worker process."""
    model = worker_clone(pipeline, threads)
    info = None
    if fit is None:
        model.fit(x_train, y_train, **fit_kwargs(y_train))
    else:
        info = fit(model, x_train, y_train)
    return predict(model, x_valid), info


def run_folds(
    pipeline: Any,
    x: pl.DataFrame,
    y: np.ndarray,
    splits: list[tuple[np.ndarray, np.ndarray]],
    predict: Callable[[Any, pl.DataFrame], tuple[np.ndarray, np.ndarray | None]],
    fit_kwargs: Callable[[np.ndarray], dict[str, Any]],
    fit: Callable[[Any, pl.DataFrame, np.ndarray], Any] | None = None,
) -> Iterator[tuple[tuple[np.ndarray, np.ndarray | None], Any]]:
    """Each fold's ((predictions, scores) on its validation rows, what ``fit``
    returned), in fold order; side by side in :func:`fold_workers` processes.
    The callables must be picklable (no closures over large state)."""

    def task(fold: tuple[np.ndarray, np.ndarray]) -> tuple[Any, ...]:
        train, valid = fold
        return (pipeline, x[train], y[train], x[valid], fit_kwargs, predict, fit)

    workers = fold_workers(x, len(splits))
    if workers == 1:
        for fold in splits:
            yield _fit_fold(*task(fold), None)
        return
    per_worker = max(1, fit_threads() // workers)
    # Folds go in batches of one per worker: a caller that stops between two
    # batches leaves no task running, whereas cancelling running tasks makes
    # joblib kill and respawn its workers (about 2 s of imports each time).
    # A last fold alone (the fifth of five on two workers) runs in this
    # process on every thread rather than in one worker beside an idle one.
    for start in range(0, len(splits), workers):
        chunk = splits[start : start + workers]
        if len(chunk) == 1:
            yield _fit_fold(*task(chunk[0]), None)
            continue
        batch = [(*task(f), per_worker) for f in chunk]
        yield from in_workers(_fit_fold, batch, workers)


def fold_scores(
    pipeline: Any,
    x: pl.DataFrame,
    y: np.ndarray,
    splits: list[tuple[np.ndarray, np.ndarray]],
    plan: ModelingPlan,
    predict: Callable[[Any, pl.DataFrame], tuple[np.ndarray, np.ndarray | None]],
    fit_kwargs: Callable[[np.ndarray], dict[str, Any]],
    report: Callable[[int, float], None] | None = None,
    collect: list[float] | None = None,
    fit: Callable[[Any, pl.DataFrame, np.ndarray], Any] | None = None,
    fitted: list[Any] | None = None,
) -> list[float]:
    """Fit a clone on each fold's training rows and score the primary metric on its validation rows.

    Args:
        pipeline: the unfitted pipeline.
        x, y: the rows to cross-validate on.
        splits: (train rows, validation rows) per fold.
        plan: the modeling plan (primary metric, metric context).
        predict: ``predict(model, x) -> (y_pred, y_score)``.
        fit_kwargs: ``fit_kwargs(y_train)`` extra ``fit`` arguments (sample weights).
        report: called after each fold with (fold index, mean score so far);
            it may raise to stop (pruning, budget).
        collect: a list to append fold scores to as they come (so a caller
            still has them when ``report`` raises).
        fit: ``fit(model, x_train, y_train)`` instead of ``model.fit`` with
            ``fit_kwargs`` (early stopping); what it returns goes to ``fitted``.
        fitted: a list to append each fold's ``fit`` result to.
    """
    primary = plan.spec.primary_metric
    scores: list[float] = collect if collect is not None else []
    folds = run_folds(pipeline, x, y, splits, predict, fit_kwargs, fit)
    try:
        for i, ((y_pred, y_score), info) in enumerate(folds):
            if fitted is not None:
                fitted.append(info)
            value = compute_metrics(
                [primary], y[splits[i][1]], y_pred, y_score, plan.metric_context
            )[primary]
            scores.append(value)
            if report is not None:  # nan while no fold has a score (no warning)
                finite = [v for v in scores if np.isfinite(v)]
                report(i, float(np.mean(finite)) if finite else float("nan"))
    finally:
        folds.close()  # a stop (pruning, budget): the folds not yet run are not
    return scores


def fold_predictions(
    pipeline: Any,
    x: pl.DataFrame,
    y: np.ndarray,
    splits: list[tuple[np.ndarray, np.ndarray]],
    predict: Callable[[Any, pl.DataFrame], tuple[np.ndarray, np.ndarray | None]],
    fit_kwargs: Callable[[np.ndarray], dict[str, Any]],
) -> list[tuple[np.ndarray, np.ndarray | None]]:
    """Fit a clone on each fold's training rows; its (predictions, scores) on
    the fold's validation rows, fold by fold."""
    return [
        output for output, _ in run_folds(pipeline, x, y, splits, predict, fit_kwargs)
    ]


def out_of_fold(
    pipeline: Any,
    x: pl.DataFrame,
    y: np.ndarray,
    splits: list[tuple[np.ndarray, np.ndarray]],
    predict: Callable[[Any, pl.DataFrame], tuple[np.ndarray, np.ndarray | None]],
    fit_kwargs: Callable[[np.ndarray], dict[str, Any]],
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, float]:
    """Out-of-fold predictions for the rows covered by the validation folds.

    Returns:
        Hard predictions, scores (or None), the row indices they belong to, and
        the seconds spent.
    """
    start = time.perf_counter()
    outputs = fold_predictions(pipeline, x, y, splits, predict, fit_kwargs)
    index = np.concatenate([valid_rows for _, valid_rows in splits])
    scores = [y_score for _, y_score in outputs]
    score = None if scores[0] is None else np.vstack(scores)
    preds = np.concatenate([y_pred for y_pred, _ in outputs])
    return preds, score, index, time.perf_counter() - start
