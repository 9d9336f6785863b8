"""Nodes of the data_validation pipeline: thin adapters to model_training.lib.stage.data_validation."""

from __future__ import annotations

from typing import Any

import polars as pl
from matplotlib.figure import Figure

from model_training.lib.core.params import DataValidationParams
from model_training.lib.core.schema import FeatureSchema
from model_training.lib.core.spec import ModelingSpec
from model_training.lib.stage import data_validation as stage


def validate_data(
    train: pl.DataFrame,
    validation: pl.DataFrame,
    feature_schema: FeatureSchema,
    modeling_spec: ModelingSpec,
    epic_id: str,
    options: DataValidationParams,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Check the training and validation splits against the schema and the spec."""
    return stage.validate_data(
        train, validation, feature_schema, modeling_spec, epic_id, options
    )


def plot_data_quality(
    report: dict[str, Any],
    plan: dict[str, Any],
    train: pl.DataFrame,
    validation: pl.DataFrame,
) -> dict[str, Figure]:
    """Draw the target distribution (when there is a target) and the missing"""
    return stage.plot_data_quality(report, plan, train, validation)
