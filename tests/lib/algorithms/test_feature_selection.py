"""Feature selection inside the CV pipeline."""

from __future__ import annotations

import numpy as np
import pytest

from model_training.lib.algorithms.feature_selection import KINDS, CorrelationFilter
from model_training.lib.algorithms.registry import (
    algorithm,
    build_pipeline,
)
from model_training.lib.core.frames import split_xy
from tests.conftest import conf_params


@pytest.mark.parametrize("kind", KINDS)
def test_feature_selection_kinds_fit_inside_the_pipeline(kind, xor_setup):
    parts, _, _, plan = xor_setup
    x, y = split_xy(parts["train"], plan)
    model = build_pipeline(
        plan,
        algorithm("classification", "logistic_regression"),
        {},
        0,
        feature_selection=kind,
        selection_options=conf_params("tuning").feature_selection_options,
    )
    model.fit(x, y)
    assert ("select" in model.named_steps) == (kind != "none")


def test_correlation_filter_drops_a_copy():
    rng = np.random.default_rng(0)
    a = rng.random(50)
    x = np.column_stack([a, a * 2 + 1e-9, rng.random(50)])
    kept = CorrelationFilter(0.95).fit(x).transform(x)
    assert kept.shape == (50, 2)
