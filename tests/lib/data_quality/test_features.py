"""Feature checks: non-finite values, constant, identifier-like and high-cardinality columns."""

from __future__ import annotations

import polars as pl

from tests.lib.data_quality.test_checks import TRAIN, blocking_message, checks_by_name


def test_infinite_values_block(frames, schema, spec, thresholds):
    frames["train"] = frames["train"].with_columns(
        pl.when(pl.int_range(pl.len()) == 0)
        .then(float("inf"))
        .otherwise(pl.col("amount"))
        .alias("amount")
    )
    message = blocking_message(frames, schema, spec, thresholds)
    assert f"{TRAIN}, column 'amount': 1 infinite value(s)" in message


def test_constant_identifier_and_cardinality_warnings(frames, schema, spec, thresholds):
    def add(frame):
        n = frame.height
        return frame.with_columns(
            pl.lit("x").alias("segment"),
            (pl.int_range(n) + 1000).alias("age"),
        )

    frames = {k: add(v) for k, v in frames.items()}
    checks = checks_by_name(
        frames, schema, spec, thresholds.model_copy(update={"high_cardinality": 0})
    )
    assert "segment" in checks["constant_columns"].details["constant"]
    assert checks["identifier_like"].columns == ["age"]
    assert checks["high_cardinality"].status == "warn"


def test_features_holding_dates_are_named(frames, schema, spec, thresholds):
    checks = checks_by_name(frames, schema, spec, thresholds)
    assert checks["date_like"].status == "pass"  # segments are not dates

    def dated(frame):
        day = pl.date(2024, 1, 1) + pl.duration(days=pl.int_range(pl.len()) % 40)
        return frame.with_columns(day.dt.strftime("%Y-%m-%d").alias("segment"))

    check = checks_by_name(
        {k: dated(v) for k, v in frames.items()}, schema, spec, thresholds
    )["date_like"]
    assert check.status == "warn" and check.columns == ["segment"]
    assert "read as categories, not as points in time" in check.message
