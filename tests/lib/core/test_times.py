"""Text timestamps read one way everywhere: polars' inference, or pandas' ISO
8601 parser when no single format fits (polars then raises)."""

from __future__ import annotations

from datetime import datetime

import polars as pl

from model_training.lib.core.times import iso_text, parse_times


def test_months_and_years_parse_where_polars_finds_no_format():
    months = pl.Series("month", ["2021-01", "2021-02", None])
    assert parse_times(months).to_list() == [
        datetime(2021, 1, 1),
        datetime(2021, 2, 1),
        None,
    ]
    assert parse_times(pl.Series(["2001", "2002"])).to_list() == [
        datetime(2001, 1, 1),
        datetime(2002, 1, 1),
    ]
    # nothing a time: nulls, not an error
    assert parse_times(pl.Series(["abc", "def"])).null_count() == 2
    # one format fits: polars' own reading, a bad value null
    assert parse_times(pl.Series(["2021-01-05", "x"])).to_list() == [
        datetime(2021, 1, 5),
        None,
    ]
    dates = pl.Series([datetime(2021, 1, 1)])
    assert parse_times(dates) is dates


def test_iso_text_writes_dates_alone_when_every_time_is_midnight():
    midnight = pl.Series([datetime(2021, 1, 1), datetime(2021, 2, 1), None])
    assert iso_text(midnight).to_list() == ["2021-01-01", "2021-02-01", None]
    hourly = pl.Series([datetime(2021, 1, 1), datetime(2021, 1, 1, 1, 30)])
    assert iso_text(hourly).to_list() == ["2021-01-01T00:00:00", "2021-01-01T01:30:00"]
