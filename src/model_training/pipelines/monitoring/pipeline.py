"""The monitoring pipeline: ``kedro run --pipelines monitoring --params epic_id=...,input=...``."""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from model_training.pipelines.monitoring import nodes


def create_pipeline(**kwargs) -> Pipeline:
    """Compare a file of new rows with the newest (or a named) package's baseline."""
    return Pipeline(
        [
            Node(
                nodes.check_new_data,
                inputs=[
                    "model_package",
                    "inference_input",
                    "modeling_plan",
                    "params:inference",
                    "params:monitoring",
                    "run_clock",
                ],
                outputs=["monitoring_report", "monitoring_figures"],
                name="check_new_data",
            ),
            Node(
                nodes.enforce_monitoring,
                inputs=["monitoring_report", "params:monitoring"],
                outputs=None,
                name="enforce_monitoring",
            ),
        ],
        tags=["monitoring"],
    )
