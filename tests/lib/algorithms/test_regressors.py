"""Every regressor fits and predicts."""

from __future__ import annotations

import pytest

from model_training.lib.algorithms.registry import (
    algorithm,
    available,
    build_pipeline,
)
from model_training.lib.core.frames import split_xy
from model_training.lib.core.plan import build_plan
from model_training.lib.core.spec import ModelingSpec
from tests.lib.algorithms.test_registry import SMALL


@pytest.mark.parametrize("name", available("regression"))
def test_every_regressor_fits_and_predicts(name, frames, schema):
    spec = ModelingSpec(
        epic_id="tiny",
        problem_type="regression",
        target="amount",
        primary_metric="rmse",
        id_columns=["row_id", "label"],
    )
    plan = build_plan(
        spec,
        schema.model_copy(
            update={
                "columns": [
                    c.model_copy(
                        update={"role": "target" if c.name == "amount" else c.role}
                    )
                    for c in schema.columns
                ]
            }
        ),
        frames["train"],
    )
    x, y = split_xy(frames["train"], plan)
    model = build_pipeline(
        plan, algorithm("regression", name), SMALL.get(name, {}), 0
    ).fit(x, y.astype(float))
    assert model.predict(x).shape == (x.height,)
