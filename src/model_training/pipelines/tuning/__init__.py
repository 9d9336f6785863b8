"""Steps 4, 5 and 5.5 of the stage: tune, select, refit, calibrate, set the threshold."""

from model_training.pipelines.tuning.pipeline import create_pipeline

__all__ = ["create_pipeline"]
