"""Data-quality checks: one test per blocking error (asserting its message) and the warnings."""

from __future__ import annotations

import polars as pl
import pytest

from model_training.lib.core.errors import InputError
from model_training.lib.core.spec import ModelingSpec
from model_training.lib.data_quality.checks import (
    raise_if_blocking,
    run_checks,
    summarize,
)

TRAIN = "data/4_processed/tiny/features/train_features.csv"
TEST = "data/4_processed/tiny/features/test_features.csv"
SPEC = "docs/objectives/user_stories/tiny/modeling_spec.yml"


def checks_by_name(frames, schema, spec, thresholds):
    return {c.name: c for c in run_checks(frames, schema, spec, thresholds)}


def blocking_message(frames, schema, spec, thresholds) -> str:
    checks = run_checks(frames, schema, spec, thresholds)
    with pytest.raises(InputError) as caught:
        raise_if_blocking(checks, "tiny")
    return str(caught.value)


def with_spec(spec: ModelingSpec, **changes) -> ModelingSpec:
    return ModelingSpec.model_validate({**spec.model_dump(), **changes})


def test_clean_data_passes(frames, schema, spec, thresholds):
    checks = run_checks(frames, schema, spec, thresholds)
    assert {c.status for c in checks} <= {"pass", "warn"}
    raise_if_blocking(checks, "tiny")
    report = summarize(checks, frames, spec, 3)
    assert report["summary"]["train_size"] == frames["train"].height
    assert report["summary"]["n_fail"] == 0
    names = [c["name"] for c in report["checks"]]
    for expected in (
        "schema_columns",
        "dtypes",
        "target",
        "class_balance",
        "missing_values",
        "leakage",
        "duplicates",
    ):
        assert expected in names


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


def test_target_with_missing_values(frames, schema, spec, thresholds):
    frames["validation"] = frames["validation"].with_columns(
        pl.when(pl.int_range(pl.len()) < 2)
        .then(None)
        .otherwise(pl.col("label"))
        .alias("label")
    )
    message = blocking_message(frames, schema, spec, thresholds)
    assert "column 'label': the target has 2 missing value(s)" in message


def test_binary_target_with_three_classes(frames, schema, spec, thresholds):
    frames["train"] = frames["train"].with_columns(
        pl.when(pl.int_range(pl.len()) < 5)
        .then(pl.lit("unknown"))
        .otherwise(pl.col("label"))
        .alias("label")
    )
    message = blocking_message(frames, schema, spec, thresholds)
    assert "binary_classification needs exactly 2 classes, found 3" in message
    assert "multiclass_classification" in message


def test_positive_class_not_in_target(frames, schema, spec, thresholds):
    spec = with_spec(spec, positive_class="default", cost_matrix=None)
    message = blocking_message(frames, schema, spec, thresholds)
    assert f"{SPEC}, key 'positive_class'" in message
    assert "use one of: bad, good" in message


def test_class_rarer_than_folds(frames, schema, spec, thresholds):
    train = frames["train"]
    frames["train"] = pl.concat(
        [
            train.filter(pl.col("label") == "good"),
            train.filter(pl.col("label") == "bad").head(2),
        ]
    )
    message = blocking_message(frames, schema, spec, thresholds)
    assert "fewer training rows than the 3 cross-validation folds" in message


def test_regression_needs_numeric_target(frames, schema, spec, thresholds):
    spec = with_spec(
        spec,
        problem_type="regression",
        positive_class=None,
        cost_matrix=None,
        primary_metric="rmse",
        secondary_metrics=[],
    )
    message = blocking_message(frames, schema, spec, thresholds)
    assert "regression needs a numeric target" in message


def test_declared_numeric_column_holding_text(frames, schema, spec, thresholds):
    frames["train"] = frames["train"].with_columns(
        pl.col("amount").cast(pl.String).str.replace(r"^1", "one")
    )
    message = blocking_message(frames, schema, spec, thresholds)
    assert f"{TRAIN}, column 'amount'" in message
    assert "declared float in the feature schema but holds text values" in message
    assert "declare the column as string" in message


def test_infinite_values_block(frames, schema, spec, thresholds):
    frames["train"] = frames["train"].with_columns(
        pl.when(pl.int_range(pl.len()) == 0)
        .then(float("inf"))
        .otherwise(pl.col("amount"))
        .alias("amount")
    )
    message = blocking_message(frames, schema, spec, thresholds)
    assert f"{TRAIN}, column 'amount': 1 infinite value(s)" in message


def test_unseen_target_class_in_test(frames, schema, spec, thresholds):
    spec = with_spec(
        spec,
        problem_type="multiclass_classification",
        positive_class=None,
        cost_matrix=None,
        primary_metric="f1_macro",
        secondary_metrics=[],
    )
    frames["train"] = frames["train"].with_columns(
        pl.when(pl.int_range(pl.len()) < 6)
        .then(pl.lit("watch"))
        .otherwise(pl.col("label"))
        .alias("label")
    )
    frames["test"] = frames["test"].with_columns(
        pl.when(pl.int_range(pl.len()) == 0)
        .then(pl.lit("fraud"))
        .otherwise(pl.col("label"))
        .alias("label")
    )
    message = blocking_message(frames, schema, spec, thresholds)
    assert (
        f"{TEST}, column 'label': classes ['fraud'] do not occur in the training split"
        in message
    )


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


def test_warnings_do_not_block(frames, schema, spec, thresholds):
    def add(frame):
        half_missing = pl.int_range(pl.len()) % 2 == 0
        return frame.with_columns(
            pl.when(half_missing).then(None).otherwise(pl.col("age")).alias("age")
        )

    frames = {k: add(v) for k, v in frames.items()}
    frames["test"] = pl.concat(
        [frames["test"], frames["train"].head(10)]
    )  # rows also in train
    frames["validation"] = frames["validation"].with_columns(
        pl.when(pl.int_range(pl.len()) == 0)
        .then(pl.lit("pensioner"))
        .otherwise(pl.col("segment"))
        .alias("segment")
    )
    checks = checks_by_name(frames, schema, spec, thresholds)
    assert checks["missing_values"].status == "warn" and checks[
        "missing_values"
    ].columns == ["age"]
    assert checks["duplicates"].status == "warn"
    assert checks["duplicates"].details["rows_also_in_train"]["test"] >= 10
    assert checks["unseen_categories"].details["unseen"]["segment"]["validation"] == [
        "pensioner"
    ]
    raise_if_blocking(list(checks.values()), "tiny")


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


@pytest.mark.parametrize("split", ["train", "validation"])
def test_a_split_with_a_single_class_blocks(frames, schema, spec, thresholds, split):
    frames[split] = frames[split].filter(pl.col("label") == "good")
    message = blocking_message(frames, schema, spec, thresholds)
    file = f"data/4_processed/tiny/features/{split}_features.csv"
    assert (
        f"{file}, column 'label': the {split} split holds a single class ('good')"
        in message
    )
    assert "re-split the data stratified by the target" in message
    assert "multiclass" not in message


def test_target_values_differing_by_spaces_are_named(frames, schema, spec, thresholds):
    frames["train"] = frames["train"].with_columns(
        pl.when(pl.int_range(pl.len()) < 5)
        .then(pl.col("label") + " ")
        .otherwise(pl.col("label"))
        .alias("label")
    )
    message = blocking_message(frames, schema, spec, thresholds)
    assert "differ only by surrounding spaces or letter case" in message
    assert "'bad' and 'bad '" in message or "'good' and 'good '" in message
    assert "multiclass" not in message


def test_imbalance_threshold_depends_on_the_number_of_classes(
    frames, schema, spec, thresholds
):
    """A 19.9 % class among five is an even split, not an imbalance; in two it is."""
    n = 1000
    five = pl.DataFrame({"label": [f"c{i % 5}" for i in range(n)]})
    two = pl.DataFrame({"label": ["a"] * 199 + ["b"] * 801})
    from model_training.lib.data_quality.target import class_balance_status

    assert class_balance_status(five, "label", thresholds) == "pass"
    assert class_balance_status(two, "label", thresholds) == "warn"
    skewed = pl.DataFrame(
        {"label": ["a"] * 70 + ["b"] * 310 + ["c"] * 310 + ["d"] * 310}
    )
    assert class_balance_status(skewed, "label", thresholds) == "warn"


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


def test_an_entirely_empty_numeric_column_is_missing_not_text(
    frames, schema, spec, thresholds
):
    frames["train"] = frames["train"].with_columns(
        pl.lit(None).cast(pl.String).alias("amount")
    )
    checks = checks_by_name(frames, schema, spec, thresholds)
    assert checks["dtypes"].status != "fail"
    assert checks["missing_values"].status == "warn"
