"""Steps 6 to 9 of the stage: the only pipeline that reads the test split."""

from model_training.pipelines.evaluation.pipeline import create_pipeline

__all__ = ["create_pipeline"]
