"""The data_validation pipeline on an in-memory catalog."""

from __future__ import annotations

import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from model_training.lib.core.params import DataValidationParams
from model_training.pipelines.data_validation import create_pipeline


def catalog(frames, schema, spec, thresholds) -> DataCatalog:
    return DataCatalog(
        {
            "train_features": MemoryDataset(frames["train"]),
            "validation_features": MemoryDataset(frames["validation"]),
            "feature_schema": MemoryDataset(schema, copy_mode="assign"),
            "modeling_spec": MemoryDataset(spec, copy_mode="assign"),
            "params:epic_id": MemoryDataset("tiny"),
            "params:data_validation": MemoryDataset(
                DataValidationParams(thresholds=thresholds)
            ),
        }
    )


def test_pipeline_produces_report_plan_and_figures(frames, schema, spec, thresholds):
    out = SequentialRunner().run(
        create_pipeline(), catalog(frames, schema, spec, thresholds)
    )
    assert set(out["data_quality_figures"].load()) == {
        "target_distribution",
        "missing_values",
    }
    sliced = create_pipeline().only_nodes("validate_data")
    out = SequentialRunner().run(sliced, catalog(frames, schema, spec, thresholds))
    assert out["data_quality_report"].load()["epic_id"] == "tiny"
    assert out["modeling_plan"].load()["spec"]["target"] == "label"


def test_validation_slice_stops_on_blocking_problem(frames, schema, spec, thresholds):
    frames["train"] = frames["train"].drop("amount")
    pipeline = create_pipeline().only_nodes("validate_data")
    with pytest.raises(
        ValueError, match="column\\(s\\) amount: listed in the feature schema"
    ):
        SequentialRunner().run(pipeline, catalog(frames, schema, spec, thresholds))
