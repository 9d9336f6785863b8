"""Time-ordered cross-validation of a classifier: every validation block must
hold every class when the primary metric ranks them (ROC-AUC, PR-AUC).

Walk-forward folds cut the rows in time order, so a class that comes in
episodes (recessions, outages, fraud waves) can be absent from a whole
validation block. A ranking metric is undefined there, every trial of every
model then scores nothing, and tuning would end with no model. The check
cuts the folds the tuning (train) and the selection (train + validation)
will cut, and stops before any fit, naming the blocks, the classes they lack
and the most folds that would hold every class.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
from sklearn.model_selection import TimeSeriesSplit

from model_training.lib.core.errors import Problem
from model_training.lib.core.metrics import METRICS
from model_training.lib.core.plan import resolve_cv_strategy
from model_training.lib.data_quality.context import Check, Context

NAME = "time_folds"


def _short_blocks(
    y: np.ndarray, times: np.ndarray, n_splits: int, gap: int, classes: set[Any]
) -> list[tuple[int, Any, Any, list[str]]] | None:
    """(fold, first time, last time, missing classes) of every validation
    block without every class; None when the rows cannot make the folds."""
    try:
        splits = list(TimeSeriesSplit(n_splits=n_splits, gap=gap).split(y))
    except ValueError:
        return None
    short = []
    for fold, (_, held) in enumerate(splits, start=1):
        missing = sorted(str(c) for c in classes - set(y[held].tolist()))
        if missing:
            short.append((fold, times[held[0]], times[held[-1]], missing))
    return short


def check_time_folds(ctx: Context) -> Check:
    spec = ctx.spec
    metric = METRICS.get(spec.primary_metric)
    if (
        not spec.kind.classification
        or resolve_cv_strategy(spec) != "time_series"
        or metric is None
        or not metric.every_class
        or not spec.time_column
        or not ctx.present(spec.time_column)
        or not spec.target
        or not ctx.present(spec.target)
    ):
        return Check(NAME, "pass", "no time-ordered folds scored by a ranking metric")
    column, target = spec.time_column, spec.target
    rows = {"train": ctx.frames["train"]}
    if "validation" in ctx.frames:
        rows["train + validation"] = pl.concat(
            [ctx.frames["train"], ctx.frames["validation"]], how="diagonal_relaxed"
        )
    ordered = {
        name: frame.select(column, target).sort(column, maintain_order=True)
        for name, frame in rows.items()
    }
    classes = set(ctx.frames["train"].get_column(target).drop_nulls().to_list())
    gap = spec.cross_validation.gap

    def short(n_splits: int) -> dict[str, list[tuple[int, Any, Any, list[str]]]]:
        found = {}
        for name, frame in ordered.items():
            blocks = _short_blocks(
                frame.get_column(target).to_numpy(),
                frame.get_column(column).to_numpy(),
                n_splits,
                gap,
                classes,
            )
            if blocks is None or blocks:
                found[name] = blocks or []
        return found

    wanted = spec.cross_validation.n_splits
    found = short(wanted)
    if not found:
        return Check(
            NAME,
            "pass",
            f"every validation block of the {wanted} time-ordered folds holds every class",
            [target],
        )
    fits = next((k for k in range(wanted - 1, 1, -1) if not short(k)), None)
    where = "; ".join(
        f"{name}: fold {fold} ({first} to {last}) has no {', '.join(repr(m) for m in missing)}"
        for name, blocks in found.items()
        for fold, first, last, missing in blocks[:3]
    )
    fix = (
        f"set cross_validation.n_splits: {fits} in {spec.location} (the most "
        "time-ordered folds whose every validation block holds every class)"
        if fits
        else "no number of time-ordered folds gives every validation block every "
        "class: add data, or"
    )
    fix += (
        f", choose a primary metric defined on blocks of one class (f1, accuracy, "
        f"log_loss), or leave time_column out of {spec.location} if the rows do not "
        "depend on time"
    )
    problem = Problem(
        f"{ctx.file('train')}, columns '{target}' and '{column}'",
        f"the {wanted} time-ordered cross-validation folds leave validation blocks "
        f"without a class, where {spec.primary_metric} is undefined and no model "
        f"could be scored ({where})",
        fix,
    )
    return Check(
        NAME,
        "fail",
        "time-ordered validation blocks lack a class",
        [target, column],
        {"n_splits": wanted, "fitting_n_splits": fits},
        [problem],
    )
