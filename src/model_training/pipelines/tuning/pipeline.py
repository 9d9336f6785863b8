"""The tuning pipeline."""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from model_training.pipelines.tuning.nodes import (
    fit_final_model,
    select_final_model,
    tune_hyperparameters,
)


def create_pipeline(**kwargs) -> Pipeline:
    """Tune the shortlist, select the final configuration, refit and finish it."""
    return Pipeline(
        [
            Node(
                tune_hyperparameters,
                inputs=[
                    "modeling_plan",
                    "train_features",
                    "shortlist",
                    "candidate_results",
                    "params:modeling",
                    "params:tuning",
                    "params:seed",
                    "params:budget",
                    "run_clock",
                ],
                outputs="tuning_results",
                name="tune_hyperparameters",
                tags=["tuning"],
            ),
            Node(
                select_final_model,
                inputs=[
                    "modeling_plan",
                    "train_features",
                    "validation_features",
                    "tuning_results",
                    "candidate_results",
                    "params:modeling",
                    "params:tuning",
                    "params:seed",
                    "params:budget",
                    "run_clock",
                ],
                outputs=["model_selection", "selection_oof"],
                name="select_final_model",
                tags=["tuning"],
            ),
            Node(
                fit_final_model,
                inputs=[
                    "modeling_plan",
                    "train_features",
                    "validation_features",
                    "model_selection",
                    "params:tuning",
                    "params:seed",
                    "params:budget",
                    "run_clock",
                    "selection_oof",
                ],
                outputs=["final_model", "final_model_info"],
                name="fit_final_model",
                tags=["tuning"],
            ),
        ]
    )
