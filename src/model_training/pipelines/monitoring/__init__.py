"""The monitoring pipeline (on request): new rows against the monitoring baseline."""

from model_training.pipelines.monitoring.pipeline import create_pipeline

__all__ = ["create_pipeline"]
