"""Stage step 8.4: learning curves with an over/underfitting verdict."""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
import polars as pl

from model_training.lib.algorithms.cv_eval import worker_clone
from model_training.lib.core.metrics import compute_metrics
from model_training.lib.core.plan import ModelingPlan
from model_training.lib.core.threads import fit_threads, in_workers, process_workers

logger = logging.getLogger(__name__)


def learning_curve(
    pipeline: Any,
    x: pl.DataFrame,
    y: np.ndarray,
    splits: list[tuple[np.ndarray, np.ndarray]],
    plan: ModelingPlan,
    predict: Any,
    fit_kwargs: Any,
    sizes: list[float],
    seed: int,
) -> dict[str, Any]:
    """Train and validation score of the final configuration over training-set sizes.

    For each fold and size, the model is fitted on that share of the fold's
    training rows (a seeded subset; temporal data keeps the latest rows) and
    scored on those rows (train) and on the fold's validation rows.
    ``predict(model, x, y)`` gives the predictions to score (``y`` lets a
    forecaster walk forward through the rows with the actual values). The
    fits run side by side in worker processes when the run has several
    threads (``predict`` and ``fit_kwargs`` must then be picklable); every
    subset is drawn first, so the curve is the same either way.
    """
    primary = plan.spec.primary_metric
    rng = np.random.default_rng(seed)
    temporal = plan.cv_strategy == "time_series"
    started = time.monotonic()
    subsets = []
    for size in sizes:
        for train_rows, valid_rows in splits:
            n = max(round(size * len(train_rows)), 10)
            subset = (
                train_rows[-n:]
                if temporal
                else np.sort(
                    rng.choice(train_rows, size=min(n, len(train_rows)), replace=False)
                )
            )
            subsets.append((subset, valid_rows))
    workers = process_workers(len(subsets), x.estimated_size())
    threads = max(1, fit_threads() // workers) if workers > 1 else None
    tasks = [
        (
            pipeline,
            x[subset],
            y[subset],
            x[valid_rows],
            y[valid_rows],
            predict,
            fit_kwargs,
            threads,
        )
        for subset, valid_rows in subsets
    ]
    outputs = in_workers(_fit_and_predict, tasks, workers)
    points, skipped = [], []
    for step, size in enumerate(sizes, start=1):
        train_scores, valid_scores, n_rows = [], [], []
        at = (step - 1) * len(splits)
        for (subset, valid_rows), predicted in zip(
            subsets[at : at + len(splits)], outputs[at : at + len(splits)], strict=True
        ):
            if predicted is None:
                continue  # e.g. a class missing from a tiny subset
            for rows, store, (y_pred, y_score) in zip(
                (subset, valid_rows),
                (train_scores, valid_scores),
                predicted,
                strict=True,
            ):
                ok = (
                    np.isfinite(np.asarray(y_pred, dtype=float))
                    if not plan.discrete_predictions
                    else np.ones(len(rows), dtype=bool)
                )  # forecasts without enough history before them are NaN
                if not ok.any():  # none had enough: no score (not NumPy's warning)
                    store.append(float("nan"))
                    continue
                store.append(
                    compute_metrics(
                        [primary],
                        y[rows][ok],
                        np.asarray(y_pred)[ok],
                        None if y_score is None else np.asarray(y_score)[ok],
                        plan.metric_context,
                    )[primary]
                )
            n_rows.append(len(subset))
        usable = np.isfinite(train_scores) & np.isfinite(valid_scores)
        if usable.any():
            points.append(
                {
                    "train_size": int(np.mean(n_rows)),
                    "train_mean": float(np.mean(np.asarray(train_scores)[usable])),
                    "train_std": float(np.std(np.asarray(train_scores)[usable])),
                    "validation_mean": float(np.mean(np.asarray(valid_scores)[usable])),
                    "validation_std": float(np.std(np.asarray(valid_scores)[usable])),
                    "folds": int(usable.sum()),
                }
            )
        else:
            reason = (
                "no fold could be fitted"
                if not train_scores
                else f"the {primary} could not be computed on any fold"
            )
            skipped.append({"share": size, "reason": reason})
            logger.warning(
                "Learning curve: the point at %d%% of the rows is skipped (%s)",
                round(100 * size),
                reason,
            )
        logger.info(
            "Learning curve %d/%d: %d%% of the training rows, %d folds",
            step,
            len(sizes),
            round(100 * size),
            len(splits),
        )
    return {
        "metric": primary,
        "points": points,
        "skipped_points": skipped,
        "elapsed_s": round(time.monotonic() - started, 2),
        "fitted_in_processes": workers,
        **verdict(points, plan),
    }


def _fit_and_predict(
    pipeline: Any,
    x_fit: pl.DataFrame,
    y_fit: np.ndarray,
    x_valid: pl.DataFrame,
    y_valid: np.ndarray,
    predict: Any,
    fit_kwargs: Any,
    threads: int | None,
) -> list[tuple[np.ndarray, np.ndarray | None]] | None:
    """A clone fitted on ``x_fit`` (with ``threads`` in a worker process), and
    its predictions on the rows it was fitted on and on the validation rows;
    None when the fit is refused (ValueError: a class missing from a tiny
    subset)."""
    model = worker_clone(pipeline, threads)
    try:
        model.fit(x_fit, y_fit, **fit_kwargs(y_fit))
    except ValueError:
        return None
    return [predict(model, x_fit, y_fit), predict(model, x_valid, y_valid)]


def verdict(points: list[dict[str, Any]], plan: ModelingPlan) -> dict[str, Any]:
    """Overfitting: a large train/validation gap at full size. Underfitting: both
    scores poor and close. Still learning: validation improves at the last step."""
    if not points:
        return {"verdict": "not enough data"}
    last = points[-1]
    sign = 1 if plan.greater_is_better else -1
    gap = sign * (last["train_mean"] - last["validation_mean"])
    scale = max(abs(last["validation_mean"]), 1e-9)
    relative_gap = gap / scale
    improving = (
        len(points) >= 2
        and sign * (points[-1]["validation_mean"] - points[-2]["validation_mean"])
        > 0.01 * scale
    )
    if relative_gap > 0.1:
        text = "overfitting: training score is well above validation; more data or stronger regularisation should help"
    elif relative_gap < 0.02 and not improving:
        text = "possible underfitting: training and validation scores are close and flat; a more flexible model may help"
    else:
        text = "reasonable fit: a moderate gap between training and validation"
    if improving:
        text += "; validation is still improving with more rows, so more data is likely to help"
    return {
        "verdict": text,
        "train_validation_gap": gap,
        "still_improving": bool(improving),
    }
