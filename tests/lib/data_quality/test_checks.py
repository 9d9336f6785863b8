"""Running every check: helpers, a clean epic passes, warnings do not block."""

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
