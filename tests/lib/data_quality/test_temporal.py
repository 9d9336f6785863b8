"""Time checks."""

from __future__ import annotations

import polars as pl

from tests.lib.data_quality.test_checks import blocking_message, with_spec


def test_temporal_overlap_blocks(frames, schema, spec, thresholds):
    def dated(frame, start):
        days = pl.date_range(
            start,
            start + __import__("datetime").timedelta(days=frame.height - 1),
            eager=True,
        )
        return frame.with_columns(days.alias("when"))

    import datetime as dt

    frames = {
        "train": dated(frames["train"], dt.date(2020, 1, 1)),
        "validation": dated(
            frames["validation"], dt.date(2020, 2, 1)
        ),  # overlaps train
        "test": dated(frames["test"], dt.date(2021, 1, 1)),
    }
    columns = [
        *schema.columns,
        schema.columns[0].model_copy(
            update={"name": "when", "dtype": "date", "role": "time"}
        ),
    ]
    schema = schema.model_copy(update={"columns": columns})
    message = blocking_message(
        frames, schema, with_spec(spec, time_column="when"), thresholds
    )
    assert "the splits overlap in time" in message
    assert "train < validation < test" in message


def test_text_times_no_format_fits_are_read_or_named_not_raised(
    frames, schema, spec, thresholds
):
    """Months written 2021-01 stopped data validation with polars' bare
    "could not find an appropriate format" ComputeError: they are months
    (ISO 8601), and text that is no time at all is named with the fix."""
    from model_training.lib.data_quality.checks import run_checks

    def months(frame, first_year):
        stamps = [
            f"{first_year + i // 12}-{i % 12 + 1:02d}" for i in range(frame.height)
        ]
        return frame.with_columns(pl.Series("when", stamps))

    timed = {
        "train": months(frames["train"], 1900),
        "validation": months(frames["validation"], 2000),
        "test": months(frames["test"], 2100),
    }
    columns = [
        *schema.columns,
        schema.columns[0].model_copy(
            update={"name": "when", "dtype": "string", "role": "time"}
        ),
    ]
    schema = schema.model_copy(update={"columns": columns})
    timed_spec = with_spec(spec, time_column="when")
    checks = {c.name: c for c in run_checks(timed, schema, timed_spec, thresholds)}
    assert checks["temporal_order"].status in ("pass", "warn")
    assert (
        checks["temporal_order"].details["ranges"]["train"][0].startswith("1900-01-01")
    )
    garbled = {
        **timed,
        "test": timed["test"].with_columns(pl.lit("soon").alias("when")),
    }
    message = blocking_message(garbled, schema, timed_spec, thresholds)
    assert "missing or unparsable timestamps" in message
    assert "YYYY-MM-DD, YYYY-MM, YYYY or YYYY-MM-DDTHH:MM:SS" in message
