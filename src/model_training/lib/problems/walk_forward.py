"""Walk-forward scoring of forecasts: the span cut into blocks of one horizon, each forecast from the actual values before it, so every row is forecast once at a known horizon step and no forecast sees its own block or later."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import polars as pl
from sklearn.base import clone

from model_training.lib.core.plan import ModelingPlan

# the level of every forecast interval the stage reports
INTERVAL_LEVEL = 0.9


def forecaster_of(model: Any) -> Any:
    """The forecaster inside a pipeline (or the forecaster itself)."""
    return model.steps[-1][1] if hasattr(model, "named_steps") else model


def walk_forward(
    model: Any, x: pl.DataFrame, y: np.ndarray, plan: ModelingPlan
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Walk-forward forecasts (see :func:`walk_one`), series by series."""
    forecaster = forecaster_of(model)
    if not hasattr(forecaster, "models_"):
        return walk_one(forecaster, x, y, plan)
    mean = np.full(x.height, np.nan)
    bounds = np.full((x.height, 2), np.nan)
    steps = np.zeros(x.height, dtype=int)
    y = np.asarray(y, dtype=float)
    for series, rows in forecaster.groups(x).items():
        part = walk_one(forecaster.model_for(series), x[rows.tolist()], y[rows], plan)
        mean[rows], bounds[rows], steps[rows] = part
    return mean, bounds, steps


def walk_one(
    forecaster: Any, x: pl.DataFrame, y: np.ndarray, plan: ModelingPlan
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Block forecasts over the rows of ``x``, each from the values before its block.

    The values known before a block are the model's history and the rows of
    ``x`` (with their actual ``y``) that come before the block's first time, so
    the rows may follow the history (validation, test) or lie inside it
    (in-sample scores). Blocks with too short a history are left NaN.

    Returns:
        The forecasts, the interval bounds (n x 2, lower and upper) and the
        horizon step of each row (1 = one period after the block's origin).
    """
    from model_training.lib.algorithms.forecasters import covariates_of, times_of

    horizon = int(plan.spec.forecast_horizon or 1)
    times = times_of(x, plan.spec.time_column)
    order = np.argsort(times.to_numpy(), kind="stable")
    x_sorted = x[order.tolist()]
    y_sorted = np.asarray(y, dtype=float)[order]
    sorted_times = times[order]
    cov = covariates_of(x_sorted, forecaster.covariate_columns())
    # everything known: the history, then the rows (which win on equal times)
    all_t = forecaster.history_times_.append(sorted_times)
    all_y = np.concatenate([forecaster.history_y_, y_sorted])
    all_cov = (
        None
        if forecaster.history_cov_ is None
        else np.vstack([forecaster.history_cov_, cov])
    )
    known = pd.Series(np.arange(len(all_t)), index=all_t)
    keep = known.groupby(level=0).last().to_numpy()  # sorted by time
    known_t, known_y = all_t[keep], all_y[keep]
    known_cov = None if all_cov is None else all_cov[keep]
    minimum = forecaster._min_history()
    mean = np.full(len(order), np.nan)
    bounds = np.full((len(order), 2), np.nan)
    steps = np.zeros(len(order), dtype=int)
    for start in range(0, len(order), horizon):
        block = slice(start, min(start + horizon, len(order)))
        before = known_t < sorted_times[start]
        if before.sum() < minimum:
            continue
        block_x = x_sorted[start : block.stop]
        history = (
            known_y[before],
            None if known_cov is None else known_cov[before],
            known_t[before],
        )
        forecast, lower, upper, step = forecaster.forecast_with_interval(
            *history, block_x, INTERVAL_LEVEL
        )
        mean[block], steps[block] = forecast, step
        bounds[block, 0], bounds[block, 1] = lower, upper
    back = np.empty_like(order)
    back[order] = np.arange(len(order))
    return mean[back], bounds[back], steps[back]


def fold_forecasts(
    problem: Any,
    pipeline: Any,
    x: pl.DataFrame,
    y: np.ndarray,
    plan: ModelingPlan,
    splits: list[tuple[np.ndarray, np.ndarray]],
) -> tuple[np.ndarray, np.ndarray, None, None]:
    """Each fold refitted and walked forward: the forecasts and their scores
    (lower, upper, horizon step) in the folds' order, as the selection
    records them."""
    outputs = [
        problem.evaluation_predictions(
            problem.fit(clone(pipeline), x[fit], y[fit]), x[held], y[held], plan
        )
        for fit, held in splits
    ]
    preds = np.concatenate([p for p, _ in outputs])
    return preds, np.vstack([s for _, s in outputs]), None, None
