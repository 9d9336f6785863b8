"""The baseline pipeline on an in-memory catalog."""

from __future__ import annotations

from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from model_training.lib.core.plan import build_plan
from model_training.pipelines.baseline import create_pipeline


def test_baseline_pipeline(frames, schema, spec):
    plan = build_plan(spec, schema, frames["train"]).model_dump(mode="json")
    catalog = DataCatalog(
        {
            "modeling_plan": MemoryDataset(plan),
            "train_features": MemoryDataset(frames["train"]),
            "validation_features": MemoryDataset(frames["validation"]),
            "params:seed": MemoryDataset(42),
        }
    )
    out = SequentialRunner().run(create_pipeline(), catalog)
    results = out["baseline_results"].load()
    models = out["baseline_models"].load()
    assert results["best"]["name"] in models
    x_valid = frames["validation"].select(["amount", "age", "segment"])
    assert (
        len(models["logistic_regression"].predict(x_valid))
        == frames["validation"].height
    )
