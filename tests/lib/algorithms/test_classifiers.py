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


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_catboost_combines_categoricals_the_same_whatever_its_iterations(
    xor_setup, task
):
    # CatBoost picks max_ctr_complexity 1 below 200 iterations and 4 from
    # there; carried iteration counts cross that line, so it is made explicit
    parts, _, _, plan = xor_setup
    x, y = split_xy(parts["train"], plan)
    y = y if task == "classification" else (y == y[0]).astype(float)
    depths = {}
    for iterations in (20, 200):
        model = build_pipeline(
            plan, algorithm(task, "catboost"), {"iterations": iterations, "depth": 2}, 0
        ).fit(x, y)
        depths[iterations] = model[-1].get_all_params()["max_ctr_complexity"]
    assert depths[20] == depths[200] == 4
    configured = build_pipeline(
        plan,
        algorithm(task, "catboost"),
        {"iterations": 200, "depth": 2, "max_ctr_complexity": 1},
        0,
    ).fit(x, y)
    assert configured[-1].get_all_params()["max_ctr_complexity"] == 1
