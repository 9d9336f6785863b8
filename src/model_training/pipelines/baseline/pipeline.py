"""The baseline pipeline."""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from model_training.pipelines.baseline.nodes import fit_baseline_models


def create_pipeline(**kwargs) -> Pipeline:
    """Fit and score the baselines on the validated splits."""
    return Pipeline(
        [
            Node(
                fit_baseline_models,
                inputs=[
                    "modeling_plan",
                    "train_features",
                    "validation_features",
                    "params:seed",
                ],
                outputs=["baseline_results", "baseline_models"],
                name="fit_baseline_models",
                tags=["baseline"],
            )
        ]
    )
