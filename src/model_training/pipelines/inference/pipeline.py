"""The inference pipeline: ``kedro run --pipelines inference --params epic_id=...,input=...``."""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from model_training.pipelines.inference.nodes import score_new_data


def create_pipeline(**kwargs) -> Pipeline:
    """Score a file of new rows with the newest (or a named) package version."""
    return Pipeline(
        [
            Node(
                score_new_data,
                inputs=[
                    "model_package",
                    "inference_input",
                    "modeling_plan",
                    "params:inference",
                ],
                outputs="inference_predictions",
                name="score_new_data",
                tags=["inference"],
            )
        ]
    )
