"""Timestamps written as text, read the same way wherever the stage reads them."""

from __future__ import annotations

import pandas as pd
import polars as pl

ISO_FORMS = "YYYY-MM-DD, YYYY-MM, YYYY or YYYY-MM-DDTHH:MM:SS"


def parse_times(series: pl.Series) -> pl.Series:
    """A text column as datetimes, null where a value is not one (a temporal
    column as it is).

    Polars infers one format from the values; when none fits all of them it
    raises instead of returning nulls ("2021-01", a month, stopped data
    validation with a bare ``ComputeError``), and pandas' ISO 8601 parser
    reads them instead (time zones converted to UTC, then dropped).
    """
    if series.dtype != pl.String:
        return series
    try:
        return series.str.to_datetime(strict=False)
    except pl.exceptions.PolarsError:
        parsed = pd.to_datetime(
            pd.Series(series.to_list(), dtype=object),
            format="ISO8601",
            errors="coerce",
            utc=True,
        ).dt.tz_convert(None)
        return pl.Series(series.name, parsed, dtype=pl.Datetime("us"))


def iso_text(times: pl.Series) -> pl.Series:
    """Datetimes written in ISO 8601: dates alone when every one is at
    midnight, else date and time."""
    midnight = (times.drop_nulls().dt.truncate("1d") == times.drop_nulls()).all()
    return times.dt.strftime("%Y-%m-%d" if midnight else "%Y-%m-%dT%H:%M:%S")
