"""Structural checks: columns, types, empty splits."""

from __future__ import annotations

import polars as pl

from tests.lib.data_quality.test_checks import (
    SPEC,
    TEST,
    TRAIN,
    blocking_message,
    checks_by_name,
    with_spec,
)


def test_missing_schema_column_names_file_and_column(frames, schema, spec, thresholds):
    frames["test"] = frames["test"].drop("segment")
    message = blocking_message(frames, schema, spec, thresholds)
    assert f"{TEST}, column(s) segment" in message
    assert "missing from the file" in message
    assert "Fix: add the column(s) to the file" in message


def test_spec_names_unknown_column(frames, schema, spec, thresholds):
    message = blocking_message(
        frames, schema, with_spec(spec, target="lable"), thresholds
    )
    assert f"{SPEC}, key 'target'" in message
    assert "column 'lable' is not in the feature schema" in message
    assert "use one of: row_id, amount, age, segment, label" in message


def test_declared_numeric_column_holding_text(frames, schema, spec, thresholds):
    frames["train"] = frames["train"].with_columns(
        pl.col("amount").cast(pl.String).str.replace(r"^1", "one")
    )
    message = blocking_message(frames, schema, spec, thresholds)
    assert f"{TRAIN}, column 'amount'" in message
    assert "declared float in the feature schema but holds text values" in message
    assert "declare the column as string" in message


def test_a_header_only_split_is_one_problem(frames, schema, spec, thresholds):
    frames["train"] = frames["train"].head(0)
    message = blocking_message(frames, schema, spec, thresholds)
    assert f"{TRAIN}: the file has a header but no data rows" in message
    assert "(1 blocking problem)" in message


def test_text_in_a_numeric_column_shows_the_bad_values_and_lines(
    frames, schema, spec, thresholds
):
    frames["train"] = frames["train"].with_columns(
        pl.when(pl.int_range(pl.len()) == 4)
        .then(pl.lit("abc"))
        .otherwise(pl.col("amount").cast(pl.String))
        .alias("amount")
    )
    message = blocking_message(frames, schema, spec, thresholds)
    assert "column 'amount': declared float in the feature schema" in message or (
        "column 'amount': declared int in the feature schema" in message
    )
    assert "'abc' (line 6)" in message


def test_an_entirely_empty_numeric_column_is_missing_not_text(
    frames, schema, spec, thresholds
):
    frames["train"] = frames["train"].with_columns(
        pl.lit(None).cast(pl.String).alias("amount")
    )
    checks = checks_by_name(frames, schema, spec, thresholds)
    assert checks["dtypes"].status != "fail"
    assert checks["missing_values"].status == "warn"
