"""The compiled transform gives scikit-learn's output exactly (values,
columns, dtypes) on every kind of input, and falls back to it for steps and
inputs it does not know."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest
from sklearn.compose import ColumnTransformer

from model_training.lib.algorithms.feature_transform import (
    FeatureTransformer,
    same_output,
)
from model_training.lib.algorithms.input_cells import (
    MISSING_CATEGORY,
    ROW_WISE,
    category_text,
)
from model_training.lib.algorithms.preprocessing import make_preprocessor
from model_training.lib.algorithms.registry import _native_preprocessor
from model_training.lib.core.plan import ModelingPlan
from model_training.lib.core.spec import ModelingSpec


def _plan() -> ModelingPlan:
    return ModelingPlan(
        spec=ModelingSpec(
            epic_id="x",
            problem_type="regression",
            target="y",
            primary_metric="rmse",
        ),
        numeric_features=["age", "income", "empty", "count"],
        categorical_features=["city", "plan"],
        classes=None,
        cv_strategy="kfold",
        greater_is_better=False,
    )


def _frame(n: int, seed: int, unseen: bool = False) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.normal(40, 10, n)
    income = rng.lognormal(10, 1, n)
    cities = ["Berlin", "Paris", "nan", "Oslo"] + (["Lima"] if unseen else [])
    return pl.DataFrame(
        {
            "age": [None if rng.random() < 0.1 else float(v) for v in age],
            "income": [
                float("nan") if rng.random() < 0.1 else float(v) for v in income
            ],
            "empty": [None] * n,
            "count": [int(v) for v in rng.integers(0, 5, n)],
            "city": [
                None if rng.random() < 0.1 else str(rng.choice(cities))
                for _ in range(n)
            ],
            "plan": [str(rng.choice(["a", "b", "c"])) for _ in range(n)],
        },
        schema_overrides={"empty": pl.Float64},
    )


def _sklearn(transformer, x):
    return ColumnTransformer.transform(transformer, x)


@pytest.mark.parametrize(
    "build",
    [
        lambda plan: make_preprocessor(plan, scale=True),
        lambda plan: make_preprocessor(plan, scale=False),
        _native_preprocessor,
    ],
    ids=["one-hot scaled", "one-hot", "native (pandas output)"],
)
def test_the_compiled_transform_equals_scikit_learns(build):
    """Missing numbers (None, NaN), an all-empty column, missing and "nan"
    categories, categories unseen in training, few and many rows, polars,
    pandas and a one-row dict: the compiled path gives scikit-learn's output
    exactly, values, columns and dtypes; except that CatBoost's text columns
    from a large polars frame are pandas categoricals of the very same text."""
    plan = _plan()
    transformer = build(plan).fit(_frame(300, 0))
    assert isinstance(transformer, FeatureTransformer)
    assert transformer.compiled_ is not None
    for rows in (1, 5, ROW_WISE + 1, 2000):
        new = _frame(rows, rows, unseen=True)
        for x in (new, new.to_pandas()):
            fast = transformer.transform(x)
            if build is _native_preprocessor and isinstance(x, pl.DataFrame):
                text = plan.categorical_features
                categorical = [
                    isinstance(fast[c].dtype, pd.CategoricalDtype) for c in text
                ]
                assert categorical == [rows > ROW_WISE] * len(text)
                fast = fast.astype(dict.fromkeys(text, "str"))
            assert same_output(fast, _sklearn(transformer, new))
    one = _frame(1, 7, unseen=True)
    row = {c: one[c][0] for c in one.columns}
    assert same_output(transformer.transform(row), _sklearn(transformer, one))


def test_the_compiled_transform_is_what_a_pipeline_predicts_with():
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import Pipeline

    plan = _plan()
    train = _frame(300, 0)
    y = np.arange(300.0)
    fast = Pipeline([("preprocess", make_preprocessor(plan)), ("model", Ridge())])
    fast.fit(train, y)
    new = _frame(50, 3, unseen=True)
    reference = fast.named_steps["model"].predict(
        _sklearn(fast.named_steps["preprocess"], new)
    )
    assert np.array_equal(fast.predict(new), reference)


def test_steps_it_does_not_know_go_through_scikit_learn():
    from sklearn.preprocessing import OneHotEncoder

    plan = _plan()
    transformer = make_preprocessor(plan)
    transformer.transformers[1][1].set_params(
        encode=OneHotEncoder(drop="first", sparse_output=False, handle_unknown="ignore")
    )
    transformer.fit(_frame(200, 0))
    assert transformer.compiled_ is None
    new = _frame(20, 1)
    assert np.array_equal(
        transformer.transform(new), _sklearn(transformer, new), equal_nan=True
    )


def test_unreadable_input_gets_scikit_learns_own_error():
    plan = _plan()
    transformer = make_preprocessor(plan).fit(_frame(200, 0))
    bad = _frame(3, 1).with_columns(pl.lit("abc").alias("age"))
    with pytest.raises(ValueError, match=r"could not convert|abc"):
        transformer.transform(bad)


def test_category_text_of_many_cells_matches_cell_by_cell():
    """The column-at-once path (text columns) and the cell path (mixed
    columns) give the same text as the cell-by-cell rule."""
    rng = np.random.default_rng(0)
    n = ROW_WISE * 10
    text = rng.choice(
        np.array(["a", "nan", "<NA>", "None", None, np.nan], dtype=object), n
    )
    mixed = rng.choice(np.array([1, 2.5, None, "x", True], dtype=object), n)
    values = np.column_stack([text, mixed])
    many = category_text(values)
    cell_by_cell = np.vstack([category_text(values[i : i + 1]) for i in range(n)])
    assert many.dtype == object and np.array_equal(many, cell_by_cell)
    assert set(many[:, 0]) == {"a", "None", MISSING_CATEGORY}
    assert set(many[:, 1]) == {"1", "2.5", MISSING_CATEGORY, "x", "True"}


def test_a_categorical_part_pickled_by_an_earlier_version_gets_its_slots_back():
    """A package saved before the one-row path existed held per-column
    look-ups without output offsets; unpickled now, it computes its slots and
    encodes exactly as a new part does."""
    import pickle

    from model_training.lib.algorithms.feature_transform import Categorical

    part = Categorical(
        ["city", "size"],
        [
            np.array(["Berlin", "Oslo"], dtype=object),
            np.array(["L", "S"], dtype=object),
        ],
    )
    old_state = {
        "columns": part.columns,
        "categories": part.categories,
        "lookups": [{"Berlin": 0, "Oslo": 1}, {"L": 0, "S": 1}],
    }
    old = pickle.loads(pickle.dumps(part))
    old.__dict__.clear()
    old.__setstate__(old_state)
    cells = np.array([["Oslo", "S"], ["Lima", None]], dtype=object)
    expected = np.array([[0.0, 1.0, 0.0, 1.0], [0.0, 0.0, 0.0, 0.0]])
    assert np.array_equal(old.apply(cells), expected)
    assert np.array_equal(part.apply(cells), expected)
    assert np.array_equal(part.apply(np.tile(cells, (40, 1)))[:2], expected)


def test_categorical_numbers_in_a_large_polars_frame_stay_text():
    """A categorical column polars holds as numbers is not read in polars
    (its text is Python's ``str`` of each cell, as scikit-learn's path gives)."""
    plan = _plan().model_copy(
        update={"numeric_features": ["age"], "categorical_features": ["count", "city"]}
    )
    transformer = _native_preprocessor(plan).fit(_frame(300, 0))
    new = _frame(ROW_WISE + 10, 1)
    fast = transformer.transform(new)
    assert fast["count"].dtype == "str" and fast["city"].dtype == "str"
    assert same_output(fast, _sklearn(transformer, new))


def test_a_many_category_feature_shares_one_column_for_its_rare_and_unseen_categories():
    """Beyond MAX_ONE_HOT_COLUMNS categories, the most frequent keep their
    columns and the rest, with categories unseen in training, share one; the
    compiled path gives scikit-learn's output exactly, row by row and in bulk."""
    from model_training.lib.core.plan import MAX_ONE_HOT_COLUMNS

    # without a many-category feature the encoder is uncapped (and fits faster)
    encode = make_preprocessor(_plan()).transformers[1][1].named_steps["encode"]
    assert encode.max_categories is None and encode.handle_unknown == "ignore"
    plan = _plan().model_copy(update={"many_category_features": ["city"]})

    def many(n: int, seed: int, unseen: bool = False) -> pl.DataFrame:
        rng = np.random.default_rng(seed)
        # a few frequent cities and a long tail of rare ones
        tail = [f"town{i}" for i in range(200 + (50 if unseen else 0))]
        cities = rng.choice(
            ["Berlin", "Paris", "Oslo", *tail],
            n,
            p=[0.2, 0.15, 0.1, *[0.55 / len(tail)] * len(tail)],
        )
        return _frame(n, seed).with_columns(pl.Series("city", cities.astype(str)))

    transformer = make_preprocessor(plan).fit(many(600, 0))
    assert transformer.compiled_ is not None
    names = transformer.get_feature_names_out()
    city = [n for n in names if n.startswith("cat__city_")]
    assert len(city) == MAX_ONE_HOT_COLUMNS
    assert "cat__city_infrequent_sklearn" in city
    for rows in (1, 5, ROW_WISE + 1, 2000):
        new = many(rows, rows, unseen=True)
        for x in (new, new.to_pandas()):
            assert same_output(transformer.transform(x), _sklearn(transformer, new))
    unseen = _frame(1, 3).with_columns(pl.Series("city", ["Atlantis"]))
    out = transformer.transform(unseen)
    assert out[0, list(names).index("cat__city_infrequent_sklearn")] == 1.0
    row = {c: unseen[c][0] for c in unseen.columns}
    assert same_output(transformer.transform(row), _sklearn(transformer, unseen))
