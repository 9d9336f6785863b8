"""The data_validation pipeline."""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from model_training.pipelines.data_validation.nodes import (
    plot_data_quality,
    validate_data,
)


def create_pipeline(**kwargs) -> Pipeline:
    """Validate the feature splits and resolve the modeling plan."""
    return Pipeline(
        [
            Node(
                validate_data,
                inputs=[
                    "train_features",
                    "validation_features",
                    "feature_schema",
                    "modeling_spec",
                    "params:epic_id",
                    "params:data_validation",
                ],
                outputs=["data_quality_report", "modeling_plan"],
                name="validate_data",
                tags=["data_validation"],
            ),
            Node(
                plot_data_quality,
                inputs=[
                    "data_quality_report",
                    "modeling_plan",
                    "train_features",
                    "validation_features",
                ],
                outputs="data_quality_figures",
                name="plot_data_quality",
                tags=["data_validation", "figures"],
            ),
        ]
    )
