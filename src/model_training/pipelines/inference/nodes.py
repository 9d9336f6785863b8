"""Nodes of the inference pipeline: thin adapters to model_training.lib.stage.inference."""

from __future__ import annotations

from typing import Any

import polars as pl

from model_training.lib.core.params import InferenceParams
from model_training.lib.stage import inference as stage


def score_new_data(
    model_package: dict[str, Any],
    new_data: pl.DataFrame,
    plan: dict[str, Any],
    options: InferenceParams,
) -> pl.DataFrame:
    """Predict new rows with the package (the newest version, or ``model_version``)."""
    return stage.score_new_data(model_package, new_data, plan, options)
