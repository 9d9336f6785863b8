"""Early stopping for boosted trees: the number of iterations is learned.

During tuning, each fold's model is fitted on 90 % of the fold's training rows
and stops when the loss on the other 10 % has not improved for
:data:`PATIENCE` iterations (CatBoost and LightGBM on an eval set prepared by
the pipeline's own preprocessing, fitted on the inner training rows only;
HistGradientBoosting with its built-in inner split). The iteration counts are
kept, and the refit uses their mean scaled to the rows it is fitted on.
"""

from __future__ import annotations

import math
import time
import warnings
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import train_test_split

from model_training.lib.algorithms.final_model import transformed

# named in study names, so a study tuned without early stopping is not resumed
EARLY_STOPPING_SCHEME = "inner-split-1"
INNER_FRACTION = 0.1
PATIENCE = 30
MIN_ROWS = 100  # below this, a 10 % inner split is too small to stop on


def early_stopped_fit(
    pipeline: Any,
    x: Any,
    y: np.ndarray,
    fit_kwargs: Any,
    algo: Any,
    stratify: bool,
    seed: int,
) -> int | None:
    """Fit ``pipeline`` on (x, y), stopping its boosting early on an inner split.

    Returns the learned number of iterations, or None when the algorithm is not
    boosted or the rows are too few (then the pipeline is fitted as usual).
    """
    if algo.iterations_param is None or len(y) < MIN_ROWS:
        pipeline.fit(x, y, **fit_kwargs(y))
        return None
    model = pipeline.steps[-1][1]
    if algo.name == "hist_gradient_boosting":
        if stratify and not _hgb_can_split(pipeline, np.asarray(y)):
            pipeline.fit(x, y, **fit_kwargs(y))
            return None
        model.set_params(
            early_stopping=True,
            validation_fraction=INNER_FRACTION,
            n_iter_no_change=PATIENCE,
        )
        pipeline.fit(x, y, **fit_kwargs(y))
        return int(model.n_iter_)
    rows = np.arange(len(y))
    labels = np.asarray(y)
    try:
        inner, held = train_test_split(
            rows,
            test_size=INNER_FRACTION,
            random_state=seed,
            stratify=labels if stratify else None,
        )
    except ValueError:  # a class too rare to stratify
        inner, held = train_test_split(
            rows, test_size=INNER_FRACTION, random_state=seed
        )
    inner, held = np.sort(inner), np.sort(held)
    head = clone(pipeline)
    head.steps = head.steps[:-1]
    head.fit(x[inner], labels[inner])
    # (a pipeline ending in a resampler has no transform of its own)
    x_held = transformed(head.steps, x[held])
    if algo.name == "catboost":
        extra: dict[str, Any] = {
            "model__eval_set": [(x_held, labels[held])],
            "model__early_stopping_rounds": PATIENCE,
            "model__use_best_model": True,
        }
    else:  # lightgbm
        import lightgbm

        # eval_set, not the newer eval_X/eval_y: LightGBM 4.7 does not encode
        # text labels given as eval_y
        extra = {
            "model__eval_set": [(x_held, labels[held])],
            "model__callbacks": [lightgbm.early_stopping(PATIENCE, verbose=False)],
        }
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*'eval_set' is deprecated")
        pipeline.fit(x[inner], labels[inner], **fit_kwargs(labels[inner]), **extra)
    if algo.name == "catboost":
        return int(model.get_best_iteration()) + 1
    return int(model.best_iteration_ or model.n_estimators)


def _hgb_can_split(pipeline: Any, labels: np.ndarray) -> bool:
    """Whether HistGradientBoosting's own stratified inner split can be drawn
    from the rows that reach it (after an undersampler, as few as the smallest
    class times the classes): every class twice, and at least one row of each
    class on both sides. Four classes undersampled to 28 rows failed with
    "test_size = 3 should be greater or equal to the number of classes = 4"."""
    _, counts = np.unique(labels, return_counts=True)
    if any(type(step).__name__ == "RandomUnderSampler" for _, step in pipeline.steps):
        counts = np.full(len(counts), counts.min())
    rows = int(counts.sum())
    held = math.ceil(INNER_FRACTION * rows)
    return (
        rows >= MIN_ROWS and counts.min() >= 2 and min(held, rows - held) >= len(counts)
    )


def carried_iterations(learned: dict[str, Any], n_rows: int) -> int:
    """The iteration count for a refit on ``n_rows`` rows: the folds' mean,
    scaled by the rows (more rows support more iterations at the same learning
    rate), at most doubled."""
    mean = float(np.mean(learned["per_fold"]))
    scale = min(max(n_rows / float(learned["inner_rows"]), 1.0), 2.0)
    return max(1, round(mean * scale))


class StopAt:
    """Ends a boosted fit once the clock passes ``at`` (epoch seconds), keeping
    the iterations done: CatBoost calls ``after_iteration`` (False stops),
    LightGBM calls the object itself. ``stopped_at`` is the iteration count
    when it fired, else None."""

    order = 40  # LightGBM runs callbacks in this order, after early stopping

    def __init__(self, at: float) -> None:
        self.at = at
        self.stopped_at: int | None = None

    def after_iteration(self, info: Any) -> bool:  # CatBoost
        if time.time() < self.at:
            return True
        self.stopped_at = int(info.iteration)
        return False

    def __call__(self, env: Any) -> None:  # LightGBM
        if time.time() >= self.at:
            import lightgbm

            self.stopped_at = int(env.iteration) + 1
            raise lightgbm.callback.EarlyStopException(
                env.iteration, env.evaluation_result_list
            )


def deadline_fit_params(algo: Any, at: float) -> tuple[dict[str, Any], StopAt | None]:
    """``fit`` keywords that end a CatBoost or LightGBM fit at ``at`` (epoch
    seconds) with the iterations done so far, or a random forest's with the
    trees grown so far, and the callback (its ``stopped_at`` says whether it
    fired); nothing for other algorithms or without a deadline."""
    if math.isinf(at):
        return {}, None
    stop = StopAt(at)
    if algo.name in ("catboost", "lightgbm"):
        return {"model__callbacks": [stop]}, stop
    if algo.name == "random_forest":
        return {"model__deadline": stop}, stop
    return {}, None
