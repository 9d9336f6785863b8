"""Frames: labels in their own type, band names, the columns a model reads."""

from __future__ import annotations

import numpy as np

from model_training.lib.core.frames import band_labels, input_columns, label_array


def test_labels_keep_their_own_type():
    assert label_array([np.int64(1), np.int64(0)]).dtype.kind == "i"
    assert label_array([True, False]).dtype == bool
    text = label_array(["yes", "no"])
    assert text.dtype == object and isinstance(text[0], str)
    assert label_array([]).size == 0


def test_band_labels_are_right_closed():
    assert band_labels([25, 60]) == ["<=25", "(25, 60]", ">60"]


def test_a_forecaster_reads_its_time_column_first(xor_setup):
    plan = xor_setup[3]
    assert input_columns(plan) == plan.features
