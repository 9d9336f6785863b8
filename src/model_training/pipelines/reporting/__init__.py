"""Steps 10, 11, 13 and 13.5 of the stage: package, card, registry, verification, monitoring."""

from model_training.pipelines.reporting.pipeline import create_pipeline

__all__ = ["create_pipeline"]
