"""Nodes of the data_validation pipeline."""

from __future__ import annotations

import pytest
from matplotlib.figure import Figure

from model_training.lib.core.errors import InputError
from model_training.lib.core.params import DataValidationParams
from model_training.lib.core.plan import load_plan
from model_training.pipelines.data_validation.nodes import (
    plot_data_quality,
    validate_data,
)


def run(frames, schema, spec, thresholds, epic="tiny"):
    return validate_data(
        frames["train"],
        frames["validation"],
        schema,
        spec,
        epic,
        DataValidationParams(thresholds=thresholds),
    )


def test_validate_data_returns_report_and_plan(frames, schema, spec, thresholds):
    report, plan = run(frames, schema, spec, thresholds)
    assert report["status"] in ("pass", "warn")
    assert report["summary_params"] == {
        "train_size": 72,
        "validation_size": 24,
        "n_features": 3,
    }
    resolved = load_plan(plan)
    assert resolved.numeric_features == ["amount", "age"]
    assert resolved.categorical_features == ["segment"]
    assert "row_id" not in resolved.features and "label" not in resolved.features
    assert resolved.classes == ["good", "bad"]  # positive class last
    assert resolved.cv_strategy == "stratified_kfold"


def test_epic_mismatch_is_blocking(frames, schema, spec, thresholds):
    with pytest.raises(InputError) as caught:
        run(frames, schema, spec, thresholds, epic="other")
    message = str(caught.value)
    assert (
        "modeling_spec.yml, key 'epic_id': says 'tiny' but the run is for epic 'other'"
        in message
    )
    assert "feature_schema.yml, key 'epic_id'" in message


def test_clustering_spec_keeps_the_label_column_out_of_the_features(
    frames, schema, spec, thresholds
):
    spec = spec.model_copy(
        update={
            "problem_type": "clustering",
            "target": None,
            "positive_class": None,
            "label_column": "label",
            "primary_metric": "silhouette",
            "secondary_metrics": ["adjusted_rand"],
            "cost_matrix": None,
            "sensitive_features": [],
        }
    )
    report, plan = run(frames, schema, spec, thresholds)
    assert report["status"] != "fail"
    assert "label" not in plan["numeric_features"] + plan["categorical_features"]
    assert plan["classes"] is None


def test_plot_data_quality_draws_both_figures(frames, schema, spec, thresholds):
    report, plan = run(frames, schema, spec, thresholds)
    figures = plot_data_quality(report, plan, frames["train"], frames["validation"])
    assert set(figures) == {"target_distribution", "missing_values"}
    assert all(isinstance(f, Figure) for f in figures.values())
    labels = [t.get_text() for t in figures["missing_values"].axes[0].get_yticklabels()]
    assert labels == frames["train"].columns


def test_an_unknown_algorithm_is_named_with_the_closest(
    frames, schema, spec, thresholds
):
    spec = spec.model_copy(update={"algorithms": ["catbost", "random_forest"]})
    with pytest.raises(InputError) as caught:
        run(frames, schema, spec, thresholds)
    message = str(caught.value)
    assert (
        "key 'algorithms': 'catbost' is not a binary_classification algorithm"
        in message
    )
    assert "(did you mean 'catboost'?)" in message
