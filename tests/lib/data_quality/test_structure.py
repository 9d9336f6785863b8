"""Structural checks: columns, types, empty splits."""

from __future__ import annotations

import polars as pl
import pytest

from model_training.lib.data_quality.checks import run_checks
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


def test_few_rows_warn_with_the_counts_and_do_not_block(
    frames, schema, spec, thresholds
):
    """120 rows split 60/20/20 with 3 features: train is under 100 rows and the
    held-out splits under 50, so each is named with its count."""
    check = checks_by_name(frames, schema, spec, thresholds)["sample_size"]
    assert check.status == "warn"
    train = frames["train"].height
    assert f"train has {train} rows for 3 feature(s)" in check.message
    held = frames["validation"].height
    assert f"validation has {held} rows (smallest class" in check.message
    assert check.details["train_rows"] == train
    assert check.details["validation_rows"] == held


def test_enough_rows_pass_and_a_rare_held_out_class_warns(
    frames, schema, spec, thresholds
):
    roomy = thresholds.model_copy(
        update={
            "small_training_rows": 10,
            "training_rows_per_feature": 2,
            "small_held_out_rows": 5,
            "small_held_out_class_rows": 2,
        }
    )
    assert checks_by_name(frames, schema, spec, roomy)["sample_size"].status == "pass"
    counts = frames["validation"].get_column("label").value_counts()
    smallest = int(counts.get_column("count").min())
    strict = roomy.model_copy(update={"small_held_out_class_rows": smallest + 1})
    check = checks_by_name(frames, schema, spec, strict)["sample_size"]
    assert check.status == "warn"
    assert f"(smallest class {smallest})" in check.message
    assert "train has" not in check.message


def test_the_test_split_is_judged_without_repeating_train(
    frames, schema, spec, thresholds
):
    held_out = {"train": frames["train"], "test": frames["test"]}
    checks = run_checks(held_out, schema, spec, thresholds, held_out_only=True)
    check = next(c for c in checks if c.name == "sample_size")
    assert check.status == "warn"
    assert check.message.startswith(f"test has {frames['test'].height} rows")
    assert "train has" not in check.message
    assert "class_balance" not in {c.name for c in checks}  # train's shares


def test_forecasts_are_not_judged_by_row_counts(frames, schema, spec, thresholds):
    from model_training.lib.data_quality.context import Context
    from model_training.lib.data_quality.structure import check_sample_size

    forecast = spec.model_copy(update={"problem_type": "time_series"})
    check = check_sample_size(Context(frames, schema, forecast, thresholds))
    assert check.status == "pass"


def test_group_folds_need_a_group_of_train_per_fold(frames, schema, spec, thresholds):
    from model_training.lib.core.errors import InputError
    from model_training.lib.data_quality.checks import raise_if_blocking, run_checks
    from tests.lib.data_quality.test_checks import with_spec

    groups = frames["train"].get_column("segment").n_unique()
    fitting = with_spec(
        spec, group_column="segment", cross_validation={"n_splits": groups}
    )
    check = checks_by_name(frames, schema, fitting, thresholds)["group_folds"]
    assert check.status == "pass"
    too_many = with_spec(
        spec, group_column="segment", cross_validation={"n_splits": groups + 1}
    )
    check = checks_by_name(frames, schema, too_many, thresholds)["group_folds"]
    assert check.status == "fail"
    assert check.details["fitting_n_splits"] == groups
    with pytest.raises(InputError) as caught:
        raise_if_blocking(run_checks(frames, schema, too_many, thresholds), "tiny")
    assert f"set cross_validation.n_splits to {groups}" in str(caught.value)
    assert "column 'segment'" in str(caught.value)
