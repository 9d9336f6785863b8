"""Step 1 of the stage: check the epic's inputs before any model sees them."""

from model_training.pipelines.data_validation.pipeline import create_pipeline

__all__ = ["create_pipeline"]
