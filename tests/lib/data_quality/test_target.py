"""Target checks: classes per split, spelling, balance, numeric targets."""

from __future__ import annotations

import polars as pl
import pytest

from tests.lib.data_quality.test_checks import SPEC, TEST, blocking_message, with_spec


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
