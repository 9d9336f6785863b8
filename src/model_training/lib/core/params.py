"""Typed parameters: one model per group of ``conf/*/parameters_*.yml``.

Nodes annotate their ``params:`` inputs with these models, so Kedro validates
every group before any node runs (an unknown key, a missing key or a wrong
type stops the run with the key's name). The defaults live in one place, the
YAML files under ``conf/base``: no field here has a default, so a key removed
from the YAML is an error, never a silent fallback.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Share = Annotated[float, Field(ge=0.0, le=1.0)]
Count = Annotated[int, Field(ge=1)]


# the password of a URL such as postgresql+psycopg://user:secret@host/db
_URL_PASSWORD = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://[^:/@\s\"']*:)[^@/\s\"']+@")


def redact_secrets(text: str) -> str:
    """``text`` with the password of every URL in it replaced by ``***``
    (storage and tracking URLs reach logs, reports and MLflow parameters)."""
    return _URL_PASSWORD.sub(r"\1***@", text)


class Group(BaseModel):
    """A parameter group: strict, immutable, printed as compact JSON."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def __str__(self) -> str:  # what MLflow shows for the whole group
        return redact_secrets(
            json.dumps(self.model_dump(mode="json"), separators=(",", ":"))
        )


# data_validation ------------------------------------------------------------
class Thresholds(Group):
    missing_warn_fraction: Share
    near_constant_share: Share
    identifier_unique_share: Share
    high_cardinality: Count
    imbalance_warn_share: Share
    cross_split_duplicate_fraction: Share
    leakage_score: Share
    leakage_blocks: bool
    small_training_rows: Count
    training_rows_per_feature: Count
    small_held_out_rows: Count
    small_held_out_class_rows: Count


class DataValidationParams(Group):
    thresholds: Thresholds


# modeling -------------------------------------------------------------------
class ModelingParams(Group):
    defaults: dict[str, dict[str, Any]]
    row_guard: dict[str, Count]
    latency_repeats: Count
    throughput_rows: Count


# tuning ---------------------------------------------------------------------
class Caps(Group):
    n_trials: Count | None
    timeout_s: Annotated[float, Field(gt=0)] | None
    per_model_timeout_s: Annotated[float, Field(gt=0)] | None


class Pruner(Group):
    n_startup_trials: Annotated[int, Field(ge=0)]
    n_warmup_steps: Annotated[int, Field(ge=0)]


class FeatureSelectionOptions(Group):
    importance_threshold: str | float
    rfe_fraction: Annotated[float, Field(gt=0.0, le=1.0)]
    l1_C: Annotated[float, Field(gt=0)]
    l1_alpha: Annotated[float, Field(gt=0)]
    correlation_threshold: Share


class Calibration(Group):
    enabled: bool
    methods: list[Literal["sigmoid", "isotonic"]]
    min_rows_isotonic: Count


class EnsembleOptions(Group):
    enabled: bool
    rounds: Annotated[int, Field(ge=2)]
    with_candidates: bool
    candidate_seconds: Annotated[float, Field(gt=0)]


class ClusterCount(Group):
    k_min: Annotated[int, Field(ge=2)]
    k_max: Annotated[int, Field(ge=2)]
    resamples: Count
    max_rows: Annotated[int, Field(ge=20)]


class Dimension(Group):
    """One hyperparameter's search range."""

    type: Literal["float", "int", "categorical"]
    low: int | float | None = None
    high: int | float | None = None
    log: bool = False
    step: int | float | None = None
    choices: list[Any] | None = None
    grid: list[Any] | None = None


class Heartbeat(Group):
    """How tuning workers show they are alive (Optuna's RDB heartbeat): a
    running trial whose worker sent none for ``grace_s`` seconds is failed, and
    its slot of the trial budget goes to the workers still alive."""

    interval_s: Annotated[int, Field(ge=1)]
    grace_s: Annotated[int, Field(ge=2)]

    @model_validator(mode="after")
    def _grace_after_interval(self) -> Heartbeat:
        if self.grace_s <= self.interval_s:
            raise ValueError(
                f"grace_s ({self.grace_s}) must exceed interval_s ({self.interval_s}): "
                "a live worker would be taken for dead between two heartbeats"
            )
        return self


class TuningParams(Group):
    max_rows: Annotated[int, Field(ge=100)]
    caps: Caps
    storage: str | None
    workers: Annotated[int, Field(ge=1)]
    heartbeat: Heartbeat
    pruner: Pruner
    grid_points: Annotated[int, Field(ge=2)]
    flat_search: Annotated[float, Field(gt=0, lt=1)] | None
    search_trees: Annotated[int, Field(ge=10)] | None
    feature_selection: Literal["none", "importance", "rfe", "l1", "correlation"]
    feature_selection_options: FeatureSelectionOptions
    calibration: Calibration
    ensemble: EnsembleOptions
    cluster_count: ClusterCount
    target_transform: Literal["auto", "none", "log1p"]
    search_spaces: dict[str, dict[str, Dimension]]

    def space(self, algorithm: str) -> dict[str, dict[str, Any]]:
        """An algorithm's search space as plain dicts (empty when it has none)."""
        return {
            name: dim.model_dump(exclude_none=True)
            for name, dim in (self.search_spaces.get(algorithm) or {}).items()
        }


# evaluation -----------------------------------------------------------------
class Bootstrap(Group):
    n_boot: Count
    level: Annotated[float, Field(gt=0.5, lt=1.0)]


class Shap(Group):
    max_rows: Count
    max_evaluations: Count


class PartialDependence(Group):
    top: Annotated[int, Field(ge=0)]
    grid: Annotated[int, Field(ge=2)]


class Fairness(Group):
    min_group_size: Count
    disparate_impact_min_ratio: Share
    equalized_odds_max_difference: Share
    error_ratio_max: Annotated[float, Field(ge=1.0)]


class Robustness(Group):
    slice_min_rows: Count
    numeric_bins: Annotated[int, Field(ge=2)]
    perturbation_scale: Annotated[float, Field(ge=0)]


class LearningCurve(Group):
    sizes: list[Annotated[float, Field(gt=0.0, le=1.0)]]
    n_splits: Annotated[int, Field(ge=2)]
    max_rows: Annotated[int, Field(ge=20)]


class EvaluationParams(Group):
    analysis_max_rows: Annotated[int, Field(ge=20)]
    bootstrap: Bootstrap
    latency_repeats: Count
    permutation_repeats: Count
    permutation_max_features: Count
    shap: Shap
    partial_dependence: PartialDependence
    local_top_features: Count
    fairness: Fairness
    robustness: Robustness
    learning_curve: LearningCurve


# reporting ------------------------------------------------------------------
class AlertThresholds(Group):
    performance_degradation: Annotated[float, Field(ge=0)]
    psi_threshold: Annotated[float, Field(ge=0)]
    missing_rate_threshold: Share
    latency_p95_ms: Annotated[float, Field(gt=0)]


class Acceptance(Group):
    on_unmet: Literal["fail", "report"]


class ReportingParams(Group):
    psi_bins: Annotated[int, Field(ge=2)]
    alert_thresholds: AlertThresholds
    acceptance: Acceptance
    notebook: bool


# inference ------------------------------------------------------------------
class InferenceParams(Group):
    input: str


# monitoring -----------------------------------------------------------------
class MonitoringParams(Group):
    alpha: Annotated[float, Field(gt=0, lt=1)]
    fail_on_alert: bool


# budget ---------------------------------------------------------------------
class Checkpoints(Group):
    candidates: Share
    tuning: Share
    selection: Share
    evaluation: Share

    @model_validator(mode="after")
    def _in_order(self) -> Checkpoints:
        values = [self.candidates, self.tuning, self.selection, self.evaluation]
        if values != sorted(values) or values[0] <= 0:
            raise ValueError(
                "checkpoints must grow in step order (candidates <= tuning <= "
                f"selection <= evaluation) and start above 0, got {values}"
            )
        return self


class BudgetParams(Group):
    time_s: Literal["auto"] | Annotated[float, Field(gt=0)] | None
    checkpoints: Checkpoints


GROUPS: dict[str, type[Group]] = {
    "budget": BudgetParams,
    "data_validation": DataValidationParams,
    "modeling": ModelingParams,
    "tuning": TuningParams,
    "evaluation": EvaluationParams,
    "reporting": ReportingParams,
    "inference": InferenceParams,
    "monitoring": MonitoringParams,
}


def check_groups(raw: dict[str, Any], env: str | None) -> dict[str, Group]:
    """Validate every parameter group of the merged configuration at once.

    Raises one :class:`InputError` listing each bad key with the file that sets
    it (the run's environment overrides conf/base) and the fix, before Kedro
    builds anything; returns the validated groups.
    """
    from pydantic import ValidationError

    from model_training.lib.core.errors import InputError, Problem
    from model_training.lib.core.parsing import explain_error, format_location

    places = ["conf/base"] + ([f"conf/{env}"] if env and env != "base" else [])
    files = "parameters_{group}.yml in " + " or ".join(places) + ", or --params"
    problems, groups = [], {}
    for group, model in GROUPS.items():
        if group not in raw:
            continue
        try:
            groups[group] = model.model_validate(raw[group])
        except ValidationError as exc:
            for error in exc.errors():
                what, fix = explain_error(error)
                if error["type"] == "extra_forbidden":
                    fix = "remove it or correct its spelling"
                elif error["type"] != "missing":
                    what = f"{what} (got {error.get('input')!r})"
                key = format_location((group, *error["loc"]))
                problems.append(
                    Problem(f"{files.format(group=group)}, key '{key}'", what, fix)
                )
    if problems:
        raise InputError("Invalid parameters", problems)
    return groups
