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
