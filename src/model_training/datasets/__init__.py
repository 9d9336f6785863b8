"""Custom Kedro datasets of the project.

Only where kedro-datasets has nothing that fits:

* :class:`ModelingSpecDataset` and :class:`FeatureSchemaDataset` load and validate
  the epic's YAML inputs, so a typo stops the run with a message naming the file
  and key.
* :class:`FeatureSplitDataset` reads a feature CSV with polars and turns a missing
  or unreadable file into a clear message.
* :class:`ReportJSONDataset`, :class:`FigureDirectoryDataset` and
  :class:`CSVTableDataset` write reports, figures and tables atomically; during a
  run every output is staged and promoted only when the run succeeds
  (:mod:`~model_training.datasets.transaction`).
* :class:`SignedJoblibDataset` signs the fitted models it writes and refuses to
  unpickle a file without a valid signature (:mod:`~model_training.datasets.signing`).

* :class:`HTMLReportDataset` writes the run's one-page report atomically;
  :class:`TimestampedJSONDataset` keeps one monitoring report per check.
* :class:`RunClockDataset` gives the budgeted steps the time the run began.

Datasets that expose ``local_path`` and carry ``metadata: {mlflow: ...}`` are
logged to MLflow by :class:`model_training.hooks.TrackingHook`.
"""

from model_training.datasets.clock import RunClockDataset
from model_training.datasets.figures import FigureDirectoryDataset
from model_training.datasets.files import (
    CSVTableDataset,
    FeatureSplitDataset,
    ReportJSONDataset,
    SignedJoblibDataset,
)
from model_training.datasets.mlflow_model import RegisteredModelDataset
from model_training.datasets.package import ModelPackageDataset
from model_training.datasets.report import HTMLReportDataset, TimestampedJSONDataset
from model_training.datasets.specs import FeatureSchemaDataset, ModelingSpecDataset

__all__ = [
    "CSVTableDataset",
    "FeatureSchemaDataset",
    "FeatureSplitDataset",
    "FigureDirectoryDataset",
    "HTMLReportDataset",
    "ModelPackageDataset",
    "ModelingSpecDataset",
    "RegisteredModelDataset",
    "ReportJSONDataset",
    "RunClockDataset",
    "SignedJoblibDataset",
    "TimestampedJSONDataset",
]
