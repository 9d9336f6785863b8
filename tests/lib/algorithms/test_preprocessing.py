"""Preprocessing: every kind of missing category becomes one category."""

from __future__ import annotations

import numpy as np
import pandas as pd

from model_training.lib.algorithms.preprocessing import MISSING_CATEGORY, CategoryFiller


def test_every_missing_kind_is_one_category():
    frame = pd.DataFrame({"c": ["a", None, np.nan, pd.NA, "b"], "d": [1, 2, 3, 4, 5]})
    out = CategoryFiller().fit(frame).transform(frame)
    assert out[:, 0].tolist() == ["a", *[MISSING_CATEGORY] * 3, "b"]
    assert out[:, 1].tolist() == ["1", "2", "3", "4", "5"]  # text for CatBoost
    filler = CategoryFiller().fit(frame)
    assert filler.get_feature_names_out().tolist() == ["c", "d"]
