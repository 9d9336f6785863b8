"""The reporting pipeline's steps (its nodes are thin adapters to these)."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import polars as pl

from model_training.lib.algorithms.ensemble import (
    active_names,
    fitted_members,
    is_ensemble,
)
from model_training.lib.assessment.acceptance import check_criteria
from model_training.lib.assessment.explain import split_pipeline, unwrap
from model_training.lib.assessment.sampling import every_kth
from model_training.lib.core.errors import OutputsKept, StageStop
from model_training.lib.core.frames import split_xy
from model_training.lib.core.params import ReportingParams
from model_training.lib.core.plan import load_plan
from model_training.lib.problems import get_problem
from model_training.lib.reporting.monitoring import monitoring_baseline
from model_training.lib.reporting.package import (
    RUNTIME_PACKAGES,
    build_metadata,
    package_versions,
)

logger = logging.getLogger(__name__)

# rows the monitoring baseline's output distribution and the package checks
# score at most (see build_model_package and verify)
OUTPUT_ROWS = 100_000
VERIFY_ROWS = 5_000


def _preprocessing(final_model: Any) -> Any:
    """The fitted preprocessing steps; for an ensemble, each member's own,
    by member (``{"1_catboost": Pipeline, ...}``)."""
    from sklearn.pipeline import Pipeline

    inner = unwrap(final_model)
    if is_ensemble(inner):
        return {
            f"{i}_{name}": _preprocessing(member)
            for i, ((member, _), name) in enumerate(
                zip(fitted_members(inner), active_names(inner), strict=True), start=1
            )
        }
    steps, _ = split_pipeline(final_model)
    return Pipeline([(f"step_{i}", step) for i, step in enumerate(steps)])


def build_model_package(
    plan: dict[str, Any],
    final_model: Any,
    final_model_info: dict[str, Any],
    model_performance: dict[str, Any],
    test_evaluation: dict[str, Any],
    test_predictions: pl.DataFrame,
    data_quality_report: dict[str, Any],
    baseline_results: dict[str, Any],
    train: pl.DataFrame,
    validation: pl.DataFrame,
    options: ReportingParams,
) -> dict[str, Any]:
    """Everything the versioned package holds: model, preprocessing, metadata, monitoring baseline, card inputs."""
    resolved = load_plan(plan)
    problem = get_problem(resolved.spec.problem_type)
    rows = pl.concat([train, validation], how="diagonal_relaxed")
    x_rows, _ = split_xy(rows, resolved)
    # the reference distribution of the model's output: every k-th training
    # row, at most OUTPUT_ROWS (a series keeps every row: its output follows
    # its history); scoring 800,000 rows took most of a million-row package
    scored = x_rows if resolved.spec.kind.temporal else every_kth(x_rows, OUTPUT_ROWS)
    performance = {**model_performance, "n_test": test_evaluation["n_test"]}
    thresholds = options.alert_thresholds.model_dump()
    metadata = build_metadata(
        resolved,
        final_model_info,
        {"train": train, "validation": validation},
        x_rows,
        performance,
        thresholds,
    )
    score_columns = [f"score_{c}" for c in resolved.classes or []]
    if "score" in test_predictions.columns:  # an anomaly score
        score_columns = ["score"]
    test_output = (
        test_predictions.get_column(score_columns[-1]).to_numpy()
        if score_columns
        else test_predictions.get_column("predicted").cast(pl.Float64).to_numpy()
    )
    baseline = monitoring_baseline(
        resolved,
        x_rows,
        problem.output(final_model, scored, resolved),
        test_output,
        model_performance["metrics"]["test"],
        test_evaluation["latency_ms"],
        thresholds,
        options.psi_bins,
        output_label=problem.output_labels(resolved)[0],
    )
    _, y_rows = split_xy(rows, resolved)
    baseline.update(problem.monitoring_extras(test_evaluation, y_rows))
    baseline["prediction_stats"]["train_predictions"]["rows_scored"] = scored.height
    return {
        "model": final_model,
        "preprocessing": _preprocessing(final_model),
        "metadata": metadata,
        "monitoring_baseline": baseline,
        "card": {
            "spec": resolved.spec.model_dump(mode="json"),
            "performance": performance,
            "data_quality": data_quality_report,
            "baseline_results": baseline_results,
            "feature_doc_path": f"data/4_processed/{resolved.spec.epic_id}/features/feature_documentation.md",
            "wording": problem.card_wording(
                resolved.spec.model_dump(mode="json"), performance, resolved.classes
            ),
        },
    }


def prepare_mlflow_model(
    plan: dict[str, Any],
    model_package: dict[str, Any],
    train: pl.DataFrame,
    performance: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The packaged model with a pandas input example (training rows), exact
    pip pins, and what the registry shows of the version: a description, tags
    and the alias ``champion`` when every acceptance criterion is met
    (``challenger`` otherwise).

    It takes the model from the written package, so a version is registered only
    once its package exists (a full or read-only models/ folder stops the run
    before anything is registered), and MLflow serves exactly what was packaged.
    """
    final_model = model_package["model"]
    resolved = load_plan(plan)
    x_train, _ = split_xy(train, resolved)
    example = get_problem(resolved.spec.problem_type).example_rows(
        final_model, x_train, resolved
    )
    pins = [
        f"{name}=={version}"
        for name, version in package_versions(RUNTIME_PACKAGES).items()
        if name != "model_training"
    ]
    return {
        "model": final_model,
        # what the served model needs to score as the inference pipeline does
        # (the dataset wraps them: model_training/serving.py)
        "package_metadata": model_package["metadata"],
        "package_version": model_package["version"],
        "plan": plan,
        "input_example": example.to_pandas(),
        "pip_requirements": pins,
        **registry_entry(resolved, model_package, performance),
    }


def registry_entry(
    plan: Any, model_package: dict[str, Any], performance: dict[str, Any] | None
) -> dict[str, Any]:
    """Description, tags and alias of the registered version."""
    if performance is None:
        return {}
    metadata = model_package.get("metadata") or {}
    primary = plan.spec.primary_metric
    value = performance["metrics"]["test"].get(primary)
    ci = (performance["metrics"].get("test_confidence_intervals") or {}).get(primary)
    criteria = check_criteria(plan.spec.acceptance_criteria, performance)
    met = all(c["met"] for c in criteria)
    model = performance["final_model"]["model"]
    interval = f" (95 % CI {ci['low']:.4g} to {ci['high']:.4g})" if ci else ""
    description = (
        f"{model} for epic {plan.spec.epic_id} ({plan.spec.problem_type}), package "
        f"v{model_package.get('version')}: test {primary} {value:.4g}{interval}; "
        + (
            "the spec sets no acceptance criteria."
            if not criteria
            else f"meets all {len(criteria)} acceptance criteria."
            if met
            else f"meets {sum(c['met'] for c in criteria)} of {len(criteria)} "
            "acceptance criteria (see the model card)."
        )
    )
    tags = {
        "epic_id": plan.spec.epic_id,
        "problem_type": plan.spec.problem_type,
        "model": model,
        "primary_metric": primary,
        f"test_{primary}": f"{value:.6g}",
        "acceptance": "met" if met else "not met",
        "package_version": str(model_package.get("version")),
        "code_commit": str(metadata.get("code_commit")),
        **{
            f"data_hash.{name}": str(digest)
            for name, digest in (metadata.get("input_hashes") or {}).items()
        },
    }
    return {
        "description": description,
        "tags": tags,
        "alias": "champion" if met else "challenger",
    }


def verify_outputs(
    plan: dict[str, Any],
    model_package: dict[str, Any],
    registered_model: dict[str, Any],
    final_model: Any,
    validation: pl.DataFrame,
    model_performance: dict[str, Any],
    model_figures: dict[str, Any],
) -> dict[str, Any]:
    """Step 13: the package loads (its sha256 checked by the dataset) and predicts like the
    in-memory model; the registered MLflow model agrees; the acceptance criteria are checked.

    Predictions are compared on validation rows: only the evaluation pipeline reads the
    test split, and its test metrics (in ``model_performance``) are what the criteria use.
    """
    resolved = load_plan(plan)
    x, _ = split_xy(validation, resolved)
    # every k-th row, at most VERIFY_ROWS: agreement needs no more (a million-row
    # run had predicted 200,000 rows three times over, the MLflow way in pandas)
    x = every_kth(x, VERIFY_ROWS)
    problem = get_problem(resolved.spec.problem_type)
    if not problem.predicts_rows_it_saw:
        # a forecaster forecasts after its history, which includes validation
        x = problem.example_rows(final_model, x, resolved, n=12)
    checks: list[dict[str, Any]] = []

    def check(name: str, ok: bool, detail: str) -> None:
        checks.append({"check": name, "passed": bool(ok), "detail": detail})

    package_pred = np.asarray(model_package["model"].predict(x))
    memory_pred = np.asarray(final_model.predict(x))
    check(
        "package_predicts",
        len(package_pred) == x.height and not _has_nan(package_pred),
        f"{len(package_pred)} predictions for {x.height} rows, no missing values",
    )
    check(
        "package_equals_memory",
        bool(np.array_equal(package_pred, memory_pred)),
        f"package v{model_package['version']} and the in-memory model agree on {x.height} rows",
    )
    pyfunc = registered_model.get("pyfunc")
    if pyfunc is not None:
        served = pyfunc.predict(x.to_pandas())  # the inference pipeline's table
        mlflow_pred = np.asarray(served["predicted"]).reshape(-1)
        check(
            "mlflow_equals_package",
            bool(np.array_equal(mlflow_pred.astype(str), package_pred.astype(str))),
            f"registered {registered_model['registered_model_name']} v{registered_model['registered_version']} "
            "agrees with the package",
        )
    else:
        check(
            "mlflow_equals_package", True, f"skipped: {registered_model.get('status')}"
        )
    check(
        "figures_written",
        len(model_figures) > 0,
        f"{len(model_figures)} figures in reports/figures/",
    )
    criteria = check_criteria(resolved.spec.acceptance_criteria, model_performance)
    passed = all(c["passed"] for c in checks)
    met = all(c["met"] for c in criteria)
    return {
        "epic_id": resolved.spec.epic_id,
        "package_version": model_package["version"],
        "checks": checks,
        "acceptance_criteria": criteria,
        "all_checks_passed": passed,
        "all_criteria_met": met,
        "summary": {"verification_passed": float(passed), "acceptance_met": float(met)},
    }


def _has_nan(values: np.ndarray) -> bool:
    return values.dtype.kind == "f" and bool(np.isnan(values).any())


def write_model_report(
    plan: dict[str, Any],
    model_performance: dict[str, Any],
    verification: dict[str, Any],
    registered_model: dict[str, Any],
    model_figures: dict[str, Any],
) -> str:
    """The run's one-page HTML report, figures inline (they come from the
    figure folder the catalog hands over as paths)."""
    from pathlib import Path

    from model_training.lib.reporting.html_report import render_report

    figures = {name: Path(path).read_bytes() for name, path in model_figures.items()}
    return render_report(
        model_performance,
        verification,
        registered_model,
        figures,
        package_dir=f"models/{load_plan(plan).spec.epic_id}",
    )


def enforce_acceptance(verification: dict[str, Any], options: ReportingParams) -> None:
    """Stop the run when a check failed or a criterion is unmet (unless report-only)."""
    failed = [c for c in verification["checks"] if not c["passed"]]
    unmet = [c for c in verification["acceptance_criteria"] if not c["met"]]
    if failed:
        raise StageStop(
            "Verification failed:\n"
            + "\n".join(f"  - {c['check']}: {c['detail']}" for c in failed)
        )
    if unmet:
        lines = "\n".join(
            f"  - {c['criterion']}: got {c['value']:.4g}"
            if isinstance(c["value"], float)
            else f"  - {c['criterion']}"
            for c in unmet
        )
        if options.acceptance.on_unmet == "report":
            logger.warning("Acceptance criteria not met (report-only):\n%s", lines)
        else:
            raise OutputsKept(
                "Acceptance criteria of the user story not met (every output was written; see "
                "verification.json, the model card and the report, model_report.html):\n"
                + lines
                + "\nSet reporting.acceptance.on_unmet: report to record this without failing the run."
            )
