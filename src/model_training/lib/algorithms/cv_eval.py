"""Cross-validated fitting: fold scores for tuning, out-of-fold predictions for finishing."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl
from sklearn.base import clone

from model_training.lib.core.metrics import compute_metrics
from model_training.lib.core.plan import ModelingPlan


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
    fit: Callable[[Any, pl.DataFrame, np.ndarray], None] | None = None,
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
            ``fit_kwargs`` (early stopping).
    """
    primary = plan.spec.primary_metric
    scores: list[float] = collect if collect is not None else []
    for i, (train_rows, valid_rows) in enumerate(splits):
        model = clone(pipeline)
        y_train = y[train_rows]
        if fit is None:
            model.fit(x[train_rows], y_train, **fit_kwargs(y_train))
        else:
            fit(model, x[train_rows], y_train)
        y_pred, y_score = predict(model, x[valid_rows])
        value = compute_metrics(
            [primary], y[valid_rows], y_pred, y_score, plan.metric_context
        )[primary]
        scores.append(value)
        if report is not None:
            report(i, float(np.nanmean(scores)))
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
    out = []
    for train_rows, valid_rows in splits:
        model = clone(pipeline)
        model.fit(x[train_rows], y[train_rows], **fit_kwargs(y[train_rows]))
        out.append(predict(model, x[valid_rows]))
    return out


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
