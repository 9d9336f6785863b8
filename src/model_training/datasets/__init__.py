"""Custom Kedro datasets of the project.

Only where kedro-datasets has nothing that fits:

* :class:`ModelingSpecDataset` and :class:`FeatureSchemaDataset` load and validate
  the epic's YAML inputs, so a typo stops the run with a message naming the file
  and key.
* :class:`FeatureSplitDataset` reads a feature CSV with polars and turns a missing
  or unreadable file into a clear message.
* :class:`ReportJSONDataset` and :class:`FigureDirectoryDataset` write reports and
  figures atomically (temporary file, then rename), so a failed run never leaves
  a half-written file in place of a good one.

Datasets that expose ``local_path`` and carry ``metadata: {mlflow: ...}`` are
logged to MLflow by :class:`model_training.hooks.TrackingHook`.
"""

from model_training.datasets.files import (
    FeatureSplitDataset,
    FigureDirectoryDataset,
    ReportJSONDataset,
)
from model_training.datasets.mlflow_model import RegisteredModelDataset
from model_training.datasets.package import ModelPackageDataset
from model_training.datasets.specs import FeatureSchemaDataset, ModelingSpecDataset

__all__ = [
    "FeatureSchemaDataset",
    "FeatureSplitDataset",
    "FigureDirectoryDataset",
    "ModelPackageDataset",
    "ModelingSpecDataset",
    "RegisteredModelDataset",
    "ReportJSONDataset",
]
