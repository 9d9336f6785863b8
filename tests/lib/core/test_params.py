"""Typed parameters: conf/ validates, bad keys get one message, nodes are annotated."""

from __future__ import annotations

import inspect
import typing

import pytest
import yaml

from model_training.lib.core.errors import InputError
from model_training.lib.core.params import GROUPS, TuningParams, check_groups
from tests.conftest import PROJECT_ROOT, conf_params


def _base() -> dict:
    raw = {}
    for path in sorted((PROJECT_ROOT / "conf/base").glob("parameters_*.yml")):
        raw.update(yaml.safe_load(path.read_text()) or {})
    return raw


def test_every_group_of_conf_base_and_conf_test_validates():
    for group in GROUPS:
        assert conf_params(group, env=None) is not None
        assert conf_params(group, env="test") is not None
    assert set(check_groups(_base(), "local")) == set(GROUPS)


def test_bad_keys_are_listed_with_their_file_and_fix():
    raw = _base()
    raw["tuning"] = {**raw["tuning"], "grid_points": 1, "grid_pionts": 4}
    del raw["evaluation"]["bootstrap"]
    with pytest.raises(InputError) as caught:
        check_groups(raw, "test")
    text = caught.value.render()
    assert "parameters_tuning.yml in conf/base or conf/test, or --params" in text
    assert "key 'tuning.grid_points'" in text and "(got 1)" in text
    assert "key 'tuning.grid_pionts': unknown key" in text
    assert "key 'evaluation.bootstrap': required key is missing" in text


def test_defaults_live_in_the_yaml_only():
    """No group field has a default: a key removed from conf/base is an error,
    never a silent fallback written a second time in code."""
    for model in GROUPS.values():
        for name, field in model.model_fields.items():
            assert field.is_required(), f"{model.__name__}.{name} has a default"


def test_every_params_group_input_of_a_node_is_annotated_with_its_model():
    from kedro.framework.project import pipelines

    missing = []
    for node in pipelines["__default__"].nodes + pipelines["inference"].nodes:
        hints = typing.get_type_hints(node.func)
        names = list(inspect.signature(node.func).parameters)
        for position, name in enumerate(node.inputs):
            group = name.removeprefix("params:")
            if group in GROUPS and hints.get(names[position]) is not GROUPS[group]:
                missing.append(f"{node.name}: {name}")
    assert missing == []


def test_a_search_space_comes_out_as_plain_dicts():
    tuning = conf_params("tuning", env=None)
    assert isinstance(tuning, TuningParams)
    space = tuning.space("logistic_regression")
    assert space["C"]["type"] == "float" and space["C"]["log"] is True
    assert tuning.space("no_such_algorithm") == {}
    assert '"grid_points":4' in str(tuning)  # MLflow's whole-group value is JSON
