"""Bounded samples: all rows when few, the class shares kept, the latest rows
for time series, the same sample for the same seed."""

from __future__ import annotations

import numpy as np

from model_training.lib.assessment.sampling import sample_rows


def test_few_rows_are_all_kept():
    assert sample_rows(10, 50, 0).tolist() == list(range(10))


def test_a_stratified_sample_keeps_each_class_share():
    y = np.array(["bad"] * 300 + ["good"] * 9700 + ["rare"] * 3)
    rows = sample_rows(len(y), 1000, 0, labels=y)
    assert len(rows) <= 1001 and np.all(np.diff(rows) > 0)
    picked = y[rows]
    assert abs((picked == "bad").mean() - 0.03) < 0.005
    assert (picked == "rare").sum() == 1  # every class is represented
    assert np.array_equal(rows, sample_rows(len(y), 1000, 0, labels=y))
    assert not np.array_equal(rows, sample_rows(len(y), 1000, 1, labels=y))


def test_time_series_keep_the_latest_rows():
    rows = sample_rows(100, 30, 0, latest=True)
    assert rows.tolist() == list(range(70, 100))


def test_an_unstratified_sample_has_exactly_the_limit():
    rows = sample_rows(5000, 700, 3)
    assert len(rows) == len(set(rows.tolist())) == 700


def test_every_kth_row_keeps_at_most_the_limit_spread_over_the_frame():
    import polars as pl

    from model_training.lib.assessment.sampling import every_kth

    frame = pl.DataFrame({"a": range(10)})
    assert every_kth(frame, 3)["a"].to_list() == [0, 4, 8]
    assert every_kth(frame, 100).height == 10
    assert every_kth(pl.DataFrame({"a": range(250_000)}), 100_000).height <= 100_000
