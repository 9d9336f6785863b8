"""CatBoost reads large frames' text categoricals as pandas categoricals, with
the very same model and predictions as from the text."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from catboost import CatBoostClassifier, CatBoostRegressor

from model_training.lib.algorithms.catboost_frames import (
    CONVERT_ABOVE_ROWS,
    CatBoostCategoricalClassifier,
    CatBoostCategoricalRegressor,
    as_categoricals,
)
from model_training.lib.algorithms.registry import algorithm, build_pipeline


def _frame(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    city = rng.choice(["oslo", "lima", "pune", "__missing__"], n)
    plan = rng.choice([f"p{i}" for i in range(12)], n)
    amount = rng.gamma(2.0, 10.0, n)
    signal = (city == "lima") * 1.5 + (np.char.endswith(plan, "3")) - amount / 40
    y = np.where(signal + rng.normal(0, 0.5, n) > 0, "yes", "no")
    x = pd.DataFrame(
        {
            "city": pd.array(city, dtype="str"),
            "plan": plan.astype(object),
            "amount": amount,
        }
    )
    return x, y


@pytest.mark.parametrize(
    ("plain", "ours", "regression"),
    [
        (CatBoostClassifier, CatBoostCategoricalClassifier, False),
        (CatBoostRegressor, CatBoostCategoricalRegressor, True),
    ],
)
def test_the_same_model_and_predictions_as_from_text(plain, ours, regression):
    x, y = _frame(400, seed=0)
    held_x, held_y = _frame(150, seed=1)
    if regression:
        y, held_y = (y == "yes") * 2.0 + x["amount"] / 10, (held_y == "yes") * 2.0
    params = {
        "iterations": 60,
        "depth": 3,
        "random_seed": 0,
        "verbose": False,
        "allow_writing_files": False,
        "thread_count": 1,
        "cat_features": ("city", "plan"),
    }
    predictions = []
    for kind in (plain, ours):
        model = kind(**params)
        model.fit(x, y, eval_set=[(held_x, held_y)], use_best_model=True)
        score = model.predict if regression else model.predict_proba
        predictions.append(
            (model.get_best_iteration(), score(held_x), score(held_x.iloc[:1]))
        )
    (best, many, one), (our_best, our_many, our_one) = predictions
    assert our_best == best
    np.testing.assert_array_equal(our_many, many)
    np.testing.assert_array_equal(our_one, one)


def test_only_a_large_pandas_frame_is_converted_and_only_its_named_columns():
    x, _ = _frame(CONVERT_ABOVE_ROWS + 1, seed=2)
    converted = as_categoricals(x, ("city", "plan"))
    assert isinstance(converted["city"].dtype, pd.CategoricalDtype)
    assert isinstance(converted["plan"].dtype, pd.CategoricalDtype)
    assert converted["amount"].dtype == np.float64
    assert converted["city"].astype(str).tolist() == x["city"].tolist()
    assert x["city"].dtype == "str"  # the caller's frame is left as it was
    small = x.iloc[:CONVERT_ABOVE_ROWS]
    assert as_categoricals(small, ("city", "plan")) is small
    assert as_categoricals(x, ()) is x
    array = x.to_numpy()
    assert as_categoricals(array, ("city",)) is array


def test_the_registry_builds_catboost_on_categoricals(xor_setup):
    _, _, _, plan = xor_setup
    for task, kind in (
        ("classification", CatBoostCategoricalClassifier),
        ("regression", CatBoostCategoricalRegressor),
    ):
        pipeline = build_pipeline(plan, algorithm(task, "catboost"), {}, 0)
        assert type(pipeline[-1]) is kind
        assert pipeline[-1].get_param("cat_features") == tuple(
            plan.categorical_features
        )
