"""Scoring new data with a saved model package (not part of ``__default__``)."""

from model_training.pipelines.inference.pipeline import create_pipeline

__all__ = ["create_pipeline"]
