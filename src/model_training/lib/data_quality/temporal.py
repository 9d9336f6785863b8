"""Time checks: time order between splits, regular timestamps, covariates where forecasts are made."""

from __future__ import annotations

import itertools

import numpy as np
import polars as pl

from model_training.lib.core.errors import Problem
from model_training.lib.core.times import ISO_FORMS, parse_times
from model_training.lib.data_quality.context import SPLITS, Check, Context


def check_temporal(ctx: Context) -> Check:
    column = ctx.spec.time_column
    if not column or not ctx.present(column):
        return Check("temporal_order", "pass", "no time column")
    ranges, unsorted, problems = {}, [], []
    for split, frame in ctx.frames.items():
        series = frame.get_column(column)
        series = parse_times(series)
        if series.null_count():
            problems.append(
                Problem(
                    f"{ctx.file(split)}, column '{column}'",
                    f"{series.null_count()} missing or unparsable timestamps",
                    f"write timestamps as ISO 8601 ({ISO_FORMS})",
                )
            )
            continue
        if not series.is_sorted():
            unsorted.append(split)
        ranges[split] = (series.min(), series.max())
    order = [s for s in SPLITS if s in ranges]
    for earlier, later in itertools.pairwise(order):
        if ranges[earlier][1] >= ranges[later][0]:
            problems.append(
                Problem(
                    f"{ctx.file(later)}, column '{column}'",
                    f"{later} starts at {ranges[later][0]}, not after the end of {earlier} "
                    f"({ranges[earlier][1]}): the splits overlap in time",
                    "split the data chronologically: train < validation < test",
                )
            )
    details = {
        "ranges": {s: [str(a), str(b)] for s, (a, b) in ranges.items()},
        "unsorted": unsorted,
    }
    if problems:
        return Check(
            "temporal_order",
            "fail",
            "splits are not in time order",
            [column],
            details,
            problems,
        )
    if unsorted:
        return Check(
            "temporal_order",
            "warn",
            "rows are not sorted by time within a split; they are sorted before use",
            [column],
            details,
        )
    return Check(
        "temporal_order",
        "pass",
        "splits are sorted and in time order",
        [column],
        details,
    )


def check_regular(ctx: Context) -> Check:
    """Time series: unique timestamps on the declared frequency, no gaps.

    Also the splits must follow each other without a gap, and known covariates
    must have values wherever a forecast is made (validation and test).
    """
    import pandas as pd

    spec = ctx.spec
    column = spec.time_column
    if not spec.kind.temporal or not column or not ctx.present(column):
        return Check("regular_timestamps", "pass", "not a time-series epic")
    problems, details = [], {}
    ends = {}
    series_column = spec.series_column
    parts = []
    for split, frame in ctx.frames.items():
        if series_column and series_column in frame.columns:
            for group in frame.partition_by(series_column, maintain_order=True):
                name = group.get_column(series_column)[0]
                parts.append((split, f"{split} (series {name})", group))
        else:
            parts.append((split, split, frame))
    for split, label, frame in parts:
        times = pd.DatetimeIndex(
            pd.to_datetime(
                np.asarray(frame.get_column(column).cast(pl.String)), errors="coerce"
            )
        ).dropna()
        if len(times) == 0:
            continue
        ordered = times.sort_values()
        duplicated = ordered[ordered.duplicated()].unique()
        grid = pd.date_range(ordered[0], ordered[-1], freq=spec.frequency)
        missing = grid.difference(ordered)
        off_grid = ordered.difference(grid)
        first, last = ends.get(split, (ordered[0], ordered[-1]))
        ends[split] = (min(first, ordered[0]), max(last, ordered[-1]))
        details[label] = {
            "duplicates": [
                str(t.date()) if t == t.normalize() else str(t) for t in duplicated[:10]
            ],
            "missing": [
                str(t.date()) if t == t.normalize() else str(t) for t in missing[:10]
            ],
            "off_frequency": [str(t) for t in off_grid[:10]],
            "n_duplicates": len(duplicated),
            "n_missing": len(missing),
            "n_off_frequency": len(off_grid),
        }
        where = f"{ctx.file(split)}, column '{column}'" + (
            label[len(split) :] if label != split else ""
        )
        if len(duplicated):
            problems.append(
                Problem(
                    where,
                    f"{len(duplicated)} duplicated timestamps, e.g. "
                    + ", ".join(details[label]["duplicates"][:5]),
                    "keep one row per period (aggregate duplicates)",
                )
            )
        if len(off_grid):
            problems.append(
                Problem(
                    where,
                    f"{len(off_grid)} timestamps are not on the '{spec.frequency}' grid, e.g. "
                    + ", ".join(details[label]["off_frequency"][:5]),
                    "align timestamps to the frequency (e.g. month start for MS) or "
                    "fix 'frequency' in the modeling spec",
                )
            )
        if len(missing):
            problems.append(
                Problem(
                    where,
                    f"{len(missing)} periods are missing, e.g. "
                    + ", ".join(details[label]["missing"][:5]),
                    "fill the gaps (e.g. carry the last value forward, or interpolate) "
                    "in the feature-engineering stage",
                )
            )
    order = [s for s in SPLITS if s in ends]
    for earlier, later in itertools.pairwise(order):
        if SPLITS.index(later) - SPLITS.index(earlier) != 1:
            continue  # train vs test (evaluation): validation lies between
        expected = pd.date_range(ends[earlier][1], periods=2, freq=spec.frequency)[1]
        if ends[later][0] > expected:
            problems.append(
                Problem(
                    f"{ctx.file(later)}, column '{column}'",
                    f"{later} starts at {ends[later][0]}, but the period after the end "
                    f"of {earlier} is {expected}: the splits leave a gap",
                    "split a continuous series at consecutive periods",
                )
            )
    for name in spec.known_covariates:
        for split in ctx.held_out:
            frame = ctx.frames[split]
            if name in frame.columns and frame.get_column(name).null_count():
                problems.append(
                    Problem(
                        f"{ctx.file(split)}, column '{name}'",
                        f"known covariate has {frame.get_column(name).null_count()} "
                        "missing values where forecasts are made",
                        "a covariate known in advance must be filled for every future "
                        "period; otherwise drop it from known_covariates",
                    )
                )
    if problems:
        return Check(
            "regular_timestamps",
            "fail",
            "timestamps are not one per period at the declared frequency",
            [column],
            details,
            problems,
        )
    return Check(
        "regular_timestamps",
        "pass",
        f"one row per '{spec.frequency}' period, no gaps, splits consecutive",
        [column],
        details,
    )
