"""Step 3 of the stage: train and compare the candidate models."""

from model_training.pipelines.modeling.pipeline import create_pipeline

__all__ = ["create_pipeline"]
