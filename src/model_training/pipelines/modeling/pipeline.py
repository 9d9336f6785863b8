"""The modeling pipeline."""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from model_training.pipelines.modeling.nodes import (
    shortlist_candidates,
    train_candidate_models,
)


def create_pipeline(**kwargs) -> Pipeline:
    """Train, compare and shortlist the candidates."""
    return Pipeline(
        [
            Node(
                train_candidate_models,
                inputs=[
                    "modeling_plan",
                    "train_features",
                    "validation_features",
                    "baseline_results",
                    "params:modeling",
                    "params:seed",
                    "params:budget",
                    "run_clock",
                ],
                outputs=["candidate_results", "candidate_models"],
                name="train_candidate_models",
                tags=["modeling"],
            ),
            Node(
                shortlist_candidates,
                inputs="candidate_results",
                outputs="shortlist",
                name="shortlist_candidates",
                tags=["modeling"],
            ),
        ]
    )
