"""A classifier's time-ordered folds: every validation block must hold every
class when a ranking metric scores them."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from model_training.lib.data_quality.checks import run_checks
from tests.lib.data_quality.test_checks import blocking_message, with_spec


def _episodes(frame: pl.DataFrame, start: dt.date, bad: list[range]) -> pl.DataFrame:
    """``frame`` dated one day per row from ``start``, its label 'bad' only in
    the ``bad`` row ranges (episodes) and 'good' elsewhere."""
    label = np.full(frame.height, "good", dtype=object)
    for rows in bad:
        label[list(rows)] = "bad"
    days = [start + dt.timedelta(days=i) for i in range(frame.height)]
    return frame.with_columns(
        pl.Series("label", label.tolist()), pl.Series("when", days)
    )


def _dated(frames, schema):
    train = frames["train"].head(60)
    validation = frames["validation"].head(20)
    test = frames["test"].head(20)
    frames = {
        "train": _episodes(
            train,
            dt.date(2020, 1, 1),
            [range(0, 5), range(20, 25), range(35, 40), range(50, 55)],
        ),
        "validation": _episodes(validation, dt.date(2020, 3, 1), [range(5, 8)]),
        "test": _episodes(test, dt.date(2020, 3, 21), [range(2, 6)]),
    }
    columns = [
        *schema.columns,
        schema.columns[0].model_copy(
            update={"name": "when", "dtype": "date", "role": "time"}
        ),
    ]
    return frames, schema.model_copy(update={"columns": columns})


def test_a_block_without_a_class_stops_the_run_with_the_folds_that_would_do(
    frames, schema, spec, thresholds
):
    frames, schema = _dated(frames, schema)
    five = with_spec(spec, time_column="when", cross_validation={"n_splits": 5})
    message = blocking_message(frames, schema, five, thresholds)
    # five folds of 60 training rows: the block of rows 10-19 has no 'bad'
    assert (
        "the 5 time-ordered cross-validation folds leave validation blocks" in message
    )
    assert "train: fold 1 (2020-01-11 to 2020-01-20) has no 'bad'" in message
    assert "columns 'label' and 'when'" in message
    # four folds give every block of train and of train + validation a 'bad'
    assert "set cross_validation.n_splits: 4" in message


def test_folds_that_hold_every_class_or_a_metric_of_one_class_pass(
    frames, schema, spec, thresholds
):
    frames, schema = _dated(frames, schema)

    def status(**changes):
        checks = run_checks(frames, schema, with_spec(spec, **changes), thresholds)
        return next(c for c in checks if c.name == "time_folds").status

    assert status(time_column="when", cross_validation={"n_splits": 4}) == "pass"
    # f1 is defined on a block of one class
    assert (
        status(
            time_column="when", primary_metric="f1", cross_validation={"n_splits": 5}
        )
        == "pass"
    )
    # shuffled folds are stratified: no time-ordered blocks to check
    assert status() == "pass"
