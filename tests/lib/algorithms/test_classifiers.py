"""Every classifier fits and predicts."""

from __future__ import annotations

import numpy as np
import pytest

from model_training.lib.algorithms.registry import (
    algorithm,
    available,
    build_pipeline,
)
from model_training.lib.core.frames import split_xy
from tests.lib.algorithms.test_registry import SMALL


@pytest.mark.parametrize("name", available("classification"))
def test_every_classifier_fits_and_predicts(name, xor_setup):
    parts, _, _, plan = xor_setup
    x, y = split_xy(parts["train"], plan)
    model = build_pipeline(
        plan, algorithm("classification", name), SMALL.get(name, {}), 0
    ).fit(x, y)
    x_valid, _ = split_xy(parts["validation"], plan)
    proba = model.predict_proba(x_valid)
    assert proba.shape == (x_valid.height, 2)
    assert np.allclose(proba.sum(axis=1), 1)
