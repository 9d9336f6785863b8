"""Fill the gaps of a time series before it is split (``from-csv --fill-gaps``).

A forecast needs one row per period. Real series miss some: a day without a
reading, a week the export skipped, a value left empty. Data validation stops
on them and names the dates; with ``--fill-gaps`` the epic builder adds the
missing periods of each series and fills them, and every empty value of the
target and of the numeric covariates, by linear interpolation in time
(``interpolate``) or by carrying the last value forward (``ffill``); text
columns carry their last value forward. Each filled value is a guess, not an
observation: the feature documentation says how many there are and where the
longest run of them is.
"""

from __future__ import annotations

import pandas as pd
import polars as pl

FILL_METHODS = ("interpolate", "ffill")


def fill_gaps(
    frame: pl.DataFrame,
    *,
    time_column: str,
    frequency: str,
    target: str,
    series_column: str | None = None,
    method: str = "interpolate",
    notes: list[str],
) -> pl.DataFrame:
    """``frame`` with every period of each series from its first to its last
    time, and the target's and numeric columns' empty values filled.

    Raises:
        ValueError: an unknown method or frequency, or times that are not
            on the frequency's grid (data validation names those).
    """
    if method not in FILL_METHODS:
        raise ValueError(f"--fill-gaps must be one of {', '.join(FILL_METHODS)}")
    data = frame.to_pandas()
    times = pd.to_datetime(data[time_column], format="mixed")
    data["__time"] = times
    keys = [series_column] if series_column else []
    numeric = [
        c
        for c in data.columns
        if c not in (time_column, "__time", *keys)
        and pd.api.types.is_numeric_dtype(data[c])
    ]
    parts, added, longest, where = [], 0, 0, ""
    groups = data.groupby(keys, sort=False) if keys else [((None,), data)]
    for key, rows in groups:
        part = rows.set_index("__time").sort_index()
        if part.index.has_duplicates:
            parts.append(part)  # data validation names the duplicated periods
            continue
        try:
            grid = pd.date_range(part.index[0], part.index[-1], freq=frequency)
        except ValueError as error:
            raise ValueError(f"--frequency {frequency}: {error}") from None
        if not part.index.isin(grid).all():
            raise ValueError(
                f"column '{time_column}': times off the '{frequency}' grid "
                f"(e.g. {part.index[~part.index.isin(grid)][0]}); fix --frequency"
            )
        full = part.reindex(grid)
        missing = full[target].isna()
        runs = missing.ne(missing.shift()).cumsum()[missing]
        if len(runs):
            size = runs.value_counts()
            if int(size.max()) > longest:
                longest = int(size.max())
                first = runs[runs == size.idxmax()].index[0]
                where = f"{first:%Y-%m-%d}" + (f" in {key[0]}" if keys else "")
        added += len(grid) - len(part)
        if method == "interpolate":
            full[numeric] = full[numeric].interpolate(method="time")
        parts.append(full.ffill())
    filled_target = int(data[target].isna().sum())
    result = pd.concat(parts).rename_axis("__time").reset_index()
    midnight = (result["__time"] == result["__time"].dt.normalize()).all()
    result[time_column] = result["__time"].dt.strftime(
        "%Y-%m-%d" if midnight else "%Y-%m-%d %H:%M:%S"
    )
    result = result.drop(columns="__time")[list(frame.columns)]
    if added or filled_target:
        how = (
            "linear interpolation in time"
            if method == "interpolate"
            else "the last value carried forward"
        )
        notes.append(
            f"Gaps filled by {how} (--fill-gaps {method}): {added} missing "
            f"period(s) added and {filled_target} empty `{target}` value(s) "
            f"filled; the longest run of filled periods is {longest}, from "
            f"{where}. Filled values are guesses, not observations."
        )
    return pl.from_pandas(result)
