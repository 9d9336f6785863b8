"""The reporting pipeline."""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from model_training.pipelines.reporting import nodes


def create_pipeline(**kwargs) -> Pipeline:
    """Package, register and verify the final model; write the card and the monitoring baseline."""
    return Pipeline(
        [
            Node(
                nodes.build_model_package,
                inputs=[
                    "modeling_plan",
                    "final_model",
                    "final_model_info",
                    "model_performance",
                    "test_evaluation",
                    "test_predictions",
                    "data_quality_report",
                    "baseline_results",
                    "train_features",
                    "validation_features",
                    "params:reporting",
                ],
                outputs="model_package",
                name="build_model_package",
            ),
            Node(
                nodes.prepare_mlflow_model,
                inputs=[
                    "modeling_plan",
                    "model_package",
                    "train_features",
                    "model_performance",
                ],
                outputs="registered_model",
                name="register_model",
            ),
            Node(
                nodes.verify_outputs,
                inputs=[
                    "modeling_plan",
                    "model_package",
                    "registered_model",
                    "final_model",
                    "validation_features",
                    "model_performance",
                    "model_figures",
                ],
                outputs="verification",
                name="verify_outputs",
            ),
            Node(
                nodes.write_model_report,
                inputs=[
                    "modeling_plan",
                    "model_performance",
                    "verification",
                    "registered_model",
                    "model_figures",
                ],
                outputs="model_report",
                name="write_model_report",
            ),
            Node(
                nodes.enforce_acceptance,
                inputs=["verification", "params:reporting", "model_report"],
                outputs=None,
                name="enforce_acceptance",
            ),
        ],
        tags=["reporting"],
    )
