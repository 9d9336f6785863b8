"""Parsing user files: one error per file naming each bad key."""

from __future__ import annotations

import pytest

from model_training.lib.core.errors import InputError
from model_training.lib.core.parsing import parse_model
from model_training.lib.core.spec import ModelingSpec
from tests.conftest import spec_dict
from tests.lib.core.test_spec import SOURCE, _message


def test_unknown_key_names_file_and_key():
    message = _message(primary_metrc="roc_auc")
    assert SOURCE in message
    assert "'primary_metrc'" in message
    assert "unknown key" in message


def test_missing_required_key():
    data = spec_dict()
    del data["problem_type"]
    with pytest.raises(InputError) as caught:
        parse_model(ModelingSpec, data, SOURCE, "modeling spec")
    assert "'problem_type'" in str(caught.value)
    assert "required key is missing" in str(caught.value)


def test_not_a_mapping():
    with pytest.raises(InputError, match="not a YAML mapping"):
        parse_model(ModelingSpec, ["a", "list"], SOURCE, "modeling spec")


def test_a_misspelt_metric_names_its_key_and_the_closest_name():
    message = _message(primary_metric="rocauc")
    assert (
        "key 'primary_metric': unknown metric 'rocauc' (did you mean 'roc_auc'?)"
        in message
    )
    message = _message(acceptance_criteria={"beats_best_baseline": ["r2"]})
    assert (
        "key 'acceptance_criteria.beats_best_baseline': metric 'r2' does not fit"
        in message
    )
