"""Overlap and leakage checks."""

from __future__ import annotations

import polars as pl

from tests.lib.data_quality.test_checks import TRAIN, blocking_message, checks_by_name


def test_leakage_screen_blocks_a_target_copy(frames, schema, spec, thresholds):
    def leak(frame):
        return frame.with_columns(
            pl.when(pl.col("label") == "bad").then(1.0).otherwise(0.0).alias("amount")
        )

    frames = {k: leak(v) for k, v in frames.items()}
    message = blocking_message(frames, schema, spec, thresholds)
    assert f"{TRAIN}, column 'amount': predicts 'label' almost perfectly" in message
    assert "leakage_blocks: false" in message
    checks = checks_by_name(
        frames, schema, spec, thresholds.model_copy(update={"leakage_blocks": False})
    )
    assert checks["leakage"].status == "warn"


def test_overlap_with_train_and_identifier_like_columns_are_named(
    frames, schema, spec, thresholds
):
    frames["train"] = frames["train"].with_columns(
        pl.format("cust-{}", pl.int_range(pl.len())).alias("segment")
    )
    frames["validation"] = pl.concat([frames["validation"], frames["train"].head(3)])
    checks = checks_by_name(frames, schema, spec, thresholds)
    duplicates = checks["duplicates"]
    assert "also occur in train" in duplicates.message
    assert "validation_features.csv lines 26, 27, 28" in duplicates.message
    identifier = checks["identifier_like"]
    assert "'segment' (100% distinct)" in identifier.message
    assert "set their role to identifier" in identifier.message
