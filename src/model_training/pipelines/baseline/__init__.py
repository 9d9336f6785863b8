"""Step 2 of the stage: the baselines every later model must beat."""

from model_training.pipelines.baseline.pipeline import create_pipeline

__all__ = ["create_pipeline"]
