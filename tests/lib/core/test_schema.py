"""The feature schema."""

from __future__ import annotations

import pytest

from model_training.lib.core.errors import InputError
from model_training.lib.core.parsing import parse_model
from model_training.lib.core.schema import FeatureSchema


def test_schema_rejects_duplicate_columns():
    data = {
        "epic_id": "x",
        "columns": [{"name": "a", "dtype": "int"}, {"name": "a", "dtype": "int"}],
    }
    with pytest.raises(InputError, match="columns listed twice: a"):
        parse_model(FeatureSchema, data, "schema.yml", "feature schema")


def test_schema_split_file_sits_beside_schema(schema):
    assert (
        schema.split_file("test") == "data/4_processed/tiny/features/test_features.csv"
    )
