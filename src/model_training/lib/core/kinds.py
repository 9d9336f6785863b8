"""The six problem types as data: the facts the lower layers need about them.

Code below ``lib/problems/`` never compares a problem type's name; it asks its
traits here (``kind(spec.problem_type).classification``). What a problem type
*does* (its baselines, predictions, figures, card wording) lives in
``lib/problems/``. Adding a problem type is one row here and one module there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Kind:
    """The traits of one problem type.

    Attributes:
        name: the spec's ``problem_type``.
        family: the algorithm family its candidates come from.
        target: ``required`` (a column the model learns), ``label`` (an optional
            column kept for evaluation only) or ``none``.
        classification: predictions are classes of the target.
        binary: exactly two classes, one of them positive.
        numeric_output: predictions are numbers (a value or a forecast).
        temporal: rows are periods of a time series, forecast ahead.
        positive_label: metrics over a positive class apply (the positive
            class, or the anomaly label of a label column).
        flags_anomalies: a threshold on a score flags a share of rows (the
            contamination) as anomalies.
        required_keys: spec keys it cannot do without.
        primary_metric: the default primary metric of a new epic (with a label
            column, ``primary_metric_labelled`` when given).
        secondary_metrics: the default secondary metrics (with a label column,
            ``labelled_extra`` are added).
    """

    name: str
    family: str
    target: Literal["required", "label", "none"]
    primary_metric: str
    secondary_metrics: tuple[str, ...] = ()
    primary_metric_labelled: str | None = None
    labelled_extra: tuple[str, ...] = ()
    classification: bool = False
    binary: bool = False
    numeric_output: bool = False
    temporal: bool = False
    positive_label: bool = False
    flags_anomalies: bool = False
    required_keys: tuple[str, ...] = ()

    @property
    def stratify_on(self) -> str | None:
        """Which column splits keep the shares of: ``target`` (classes),
        ``label`` (anomalies), or None."""
        if self.classification:
            return "target"
        return "label" if self.target == "label" and self.positive_label else None

    def default_metrics(self, labelled: bool) -> tuple[str, list[str]]:
        """(primary, secondary) metrics of a new epic of this kind."""
        primary = (
            self.primary_metric_labelled
            if labelled and self.primary_metric_labelled
            else self.primary_metric
        )
        secondary = [*self.secondary_metrics]
        if labelled:
            secondary += [m for m in self.labelled_extra if m != primary]
        return primary, secondary


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind(
            "binary_classification",
            family="classification",
            target="required",
            primary_metric="roc_auc",
            secondary_metrics=("pr_auc", "f1", "log_loss"),
            classification=True,
            binary=True,
            positive_label=True,
        ),
        Kind(
            "multiclass_classification",
            family="classification",
            target="required",
            primary_metric="f1_macro",
            secondary_metrics=("balanced_accuracy", "log_loss"),
            classification=True,
        ),
        Kind(
            "regression",
            family="regression",
            target="required",
            primary_metric="root_mean_squared_error",
            secondary_metrics=("mean_absolute_error", "r2"),
            numeric_output=True,
        ),
        Kind(
            "time_series",
            family="time_series",
            target="required",
            primary_metric="mean_absolute_scaled_error",
            secondary_metrics=(
                "mean_absolute_error",
                "root_mean_squared_error",
                "symmetric_mean_absolute_percentage_error",
                "interval_coverage",
            ),
            numeric_output=True,
            temporal=True,
            required_keys=("time_column", "frequency", "forecast_horizon"),
        ),
        Kind(
            "clustering",
            family="clustering",
            target="label",
            primary_metric="silhouette",
            secondary_metrics=("davies_bouldin", "calinski_harabasz"),
            labelled_extra=("adjusted_rand", "normalized_mutual_info"),
        ),
        Kind(
            "anomaly_detection",
            family="anomaly_detection",
            target="label",
            primary_metric="flag_rate_gap",
            primary_metric_labelled="pr_auc",
            labelled_extra=(
                "roc_auc",
                "f1",
                "precision",
                "recall",
                "false_positive_rate",
            ),
            positive_label=True,
            flags_anomalies=True,
        ),
    )
}

PROBLEM_TYPES: tuple[str, ...] = tuple(KINDS)


def kind(name: str) -> Kind:
    """The traits of a problem type, or an error naming the known ones."""
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(
            f"unknown problem_type '{name}'; known: {', '.join(PROBLEM_TYPES)}"
        ) from None


def kinds_where(**traits: object) -> frozenset[str]:
    """Names of the problem types whose traits all equal the given values."""
    return frozenset(
        k.name
        for k in KINDS.values()
        if all(getattr(k, trait) == value for trait, value in traits.items())
    )
