"""The modeling spec and feature schema: defaults, aliases and clear errors."""

from __future__ import annotations

import pytest

from model_training.lib.core.errors import InputError
from model_training.lib.core.parsing import parse_model
from model_training.lib.core.spec import ModelingSpec
from tests.conftest import spec_dict

SOURCE = "docs/objectives/user_stories/tiny/modeling_spec.yml"


def parse(**overrides) -> ModelingSpec:
    return parse_model(ModelingSpec, spec_dict(**overrides), SOURCE, "modeling spec")


def test_valid_spec_gets_defaults_and_source():
    spec = parse()
    assert spec.source == SOURCE
    assert spec.search.strategy == "tpe"
    assert spec.cross_validation.strategy == "auto"
    assert spec.imbalance == "auto"
    assert spec.metric_names[0] == "roc_auc"
    assert "expected_cost" in spec.metric_names and "log_loss" in spec.metric_names


def test_metric_aliases_are_canonicalised():
    spec = parse(
        problem_type="regression",
        positive_class=None,
        cost_matrix=None,
        primary_metric="rmse",
        secondary_metrics=["mae", "r2"],
        acceptance_criteria={"metrics": {"mape": {"max": 0.2}}},
    )
    assert spec.primary_metric == "root_mean_squared_error"
    assert spec.secondary_metrics == ["mean_absolute_error", "r2"]
    assert "mean_absolute_percentage_error" in spec.acceptance_criteria.metrics


def _message(**overrides) -> str:
    with pytest.raises(InputError) as caught:
        parse(**overrides)
    return str(caught.value)


def test_metric_that_does_not_fit_the_problem_type():
    message = _message(primary_metric="r2")
    assert "metric 'r2' does not fit problem_type binary_classification" in message
    assert "roc_auc" in message  # the fix lists the metrics that fit


def test_unknown_metric():
    assert "unknown metric 'accuracyy'" in _message(secondary_metrics=["accuracyy"])


def test_binary_needs_positive_class():
    assert "'positive_class' is required" in _message(positive_class=None)


def test_impossible_values():
    assert "n_splits" in _message(cross_validation={"n_splits": 1})
    assert "problem_type" in _message(problem_type="ranking")
    assert "2x2 table" in _message(
        cost_matrix={"labels": ["good", "bad"], "costs": [[0, 1]]}
    )
    assert (
        "key 'positive_class': 'bad' is not one of cost_matrix.labels (ok, ko)"
        in _message(cost_matrix={"labels": ["ok", "ko"], "costs": [[0, 1], [5, 0]]})
    )


def test_time_series_needs_its_keys():
    message = _message(
        problem_type="time_series",
        positive_class=None,
        cost_matrix=None,
        primary_metric="mae",
        secondary_metrics=[],
    )
    assert "time_series needs time_column, frequency, forecast_horizon" in message


def test_expected_cost_needs_cost_matrix():
    assert "needs a cost_matrix" in _message(
        primary_metric="expected_cost", cost_matrix=None
    )
