"""Preprocessing: every kind of missing category becomes one category."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from model_training.lib.algorithms.preprocessing import MISSING_CATEGORY, CategoryFiller


def test_every_missing_kind_is_one_category():
    frame = pd.DataFrame({"c": ["a", None, np.nan, pd.NA, "b"], "d": [1, 2, 3, 4, 5]})
    out = CategoryFiller().fit(frame).transform(frame)
    assert out[:, 0].tolist() == ["a", *[MISSING_CATEGORY] * 3, "b"]
    assert out[:, 1].tolist() == ["1", "2", "3", "4", "5"]  # text for CatBoost
    filler = CategoryFiller().fit(frame)
    assert filler.get_feature_names_out().tolist() == ["c", "d"]


def test_fold_smote_fits_its_neighbours_to_a_small_class():
    from imblearn.over_sampling import SMOTE

    from model_training.lib.algorithms.preprocessing import FoldSMOTE

    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 3))

    def labels(positives):
        return np.array(["yes"] * positives + ["no"] * (40 - positives))

    # enough rows: SMOTE exactly
    many = labels(12)
    ours, theirs = (
        FoldSMOTE(random_state=3).fit_resample(x, many),
        SMOTE(random_state=3).fit_resample(x, many),
    )
    np.testing.assert_array_equal(ours[0], theirs[0])
    np.testing.assert_array_equal(ours[1], theirs[1])
    # three positives: SMOTE refuses them; here they interpolate between them
    few = labels(3)
    with pytest.raises(ValueError, match="n_neighbors"):
        SMOTE(random_state=3).fit_resample(x, few)
    resampler = FoldSMOTE(random_state=3)
    _, y_new = resampler.fit_resample(x, few)
    assert (y_new == "yes").sum() == (y_new == "no").sum() == 37
    assert resampler.k_neighbors == 5  # its parameter is unchanged
    # a class of one row cannot be interpolated: the rows stay as they are
    x_one, y_one = FoldSMOTE(random_state=3).fit_resample(x, labels(1))
    np.testing.assert_array_equal(x_one, x)
    np.testing.assert_array_equal(y_one, labels(1))
