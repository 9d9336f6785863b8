"""Stage steps: fairness, robustness, the learning curve and the comparison of every model."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

import numpy as np
import polars as pl

from model_training.lib.algorithms.cv import cv_splits, order_for_cv, with_folds
from model_training.lib.assessment import fairness, robustness
from model_training.lib.assessment.comparison import comparison_table
from model_training.lib.assessment.learning import learning_curve
from model_training.lib.assessment.sampling import sample_note, sample_rows
from model_training.lib.core.budget import Budget, unlimited
from model_training.lib.core.errors import fail_soft, failed
from model_training.lib.core.frames import split_xy
from model_training.lib.core.params import EvaluationParams
from model_training.lib.core.plan import load_plan
from model_training.lib.problems import get_problem
from model_training.lib.stage.evaluation import test_arrays
from model_training.lib.training.configs import config_fit_params, pipeline_for


@fail_soft("Fairness", lambda error: failed(error, attributes={}))
def assess_fairness(
    plan: dict[str, Any],
    test: pl.DataFrame,
    test_predictions: pl.DataFrame,
    options: EvaluationParams,
) -> dict[str, Any]:
    """Group metrics and disparities for every sensitive feature of the spec."""
    resolved = load_plan(plan)
    y, y_pred, _ = test_arrays(resolved, test_predictions)
    report = fairness.assess(test, y, y_pred, resolved, options.fairness)
    for name, entry in report.items():
        for flag in entry["flags"]:
            logger.warning("Fairness (%s): %s", name, flag)
    return {"epic_id": resolved.spec.epic_id, "attributes": report}


@fail_soft(
    "Robustness",
    lambda error: failed(
        error,
        slices={"overall": {}, "slices": [], "worst": []},
        perturbation={},
        out_of_distribution={"share": None},
    ),
)
def assess_robustness(
    plan: dict[str, Any],
    final_model: Any,
    train: pl.DataFrame,
    test: pl.DataFrame,
    test_predictions: pl.DataFrame,
    options: EvaluationParams,
    seed: int,
) -> dict[str, Any]:
    """Slices, sensitivity to small perturbations, and out-of-distribution rows."""
    resolved = load_plan(plan)
    problem = get_problem(resolved.spec.problem_type)
    settings = options.robustness
    x_test, _ = split_xy(test, resolved)
    x_train, _ = split_xy(train, resolved)
    y, y_pred, y_score = test_arrays(resolved, test_predictions)
    # the perturbation test predicts its rows twice: at most analysis_max_rows
    # of them (a seeded sample keeping class shares; a series keeps its order)
    keep = sample_rows(
        x_test.height,
        options.analysis_max_rows,
        seed,
        labels=y if resolved.spec.kind.classification else None,
        latest=resolved.spec.kind.temporal,
    )
    return {
        "epic_id": resolved.spec.epic_id,
        "slices": robustness.slices(
            x_test,
            x_train,
            y,
            y_pred,
            y_score,
            resolved,
            settings.slice_min_rows,
            settings.numeric_bins,
        ),
        "perturbation": {
            **robustness.perturbation(
                final_model,
                x_test[keep],
                x_train,
                None if y is None else np.asarray(y)[keep],
                resolved,
                lambda m, rows: problem.predict(m, rows, resolved),
                settings.perturbation_scale,
                seed,
            ),
            "sample": sample_note(len(keep), x_test.height),
        },
        "out_of_distribution": robustness.out_of_distribution(
            x_test, x_train, y, y_pred, y_score, resolved
        ),
    }


@fail_soft(
    "Learning curve",
    lambda error: failed(error, points=[], verdict=f"not computed ({error})"),
)
def compute_learning_curve(
    plan: dict[str, Any],
    train: pl.DataFrame,
    validation: pl.DataFrame,
    model_selection: dict[str, Any],
    tuning: dict[str, Any],
    options: EvaluationParams,
    seed: int,
    budget: Budget | None = None,
) -> dict[str, Any]:
    """Learning curve of the final configuration, cross-validated on train +
    validation (never test); skipped, with the reason, once the run budget's
    evaluation checkpoint has passed."""
    budget = budget or unlimited()
    if budget.spent("evaluation"):
        note = budget.note("evaluation", "the learning curve was not computed")
        logger.warning("Learning curve: %s", note)
        return {
            "points": [],
            "verdict": f"not computed ({note})",
            "skipped_by_budget": note,
        }
    resolved = load_plan(plan)
    problem = get_problem(resolved.spec.problem_type)
    settings = options.learning_curve
    rows = order_for_cv(
        pl.concat([train, validation], how="diagonal_relaxed"), resolved
    )
    available = rows.height
    _, y_all = split_xy(rows, resolved)
    kind = resolved.spec.kind
    keep = sample_rows(
        available,
        settings.max_rows,
        seed,
        labels=y_all if kind.classification else None,
        latest=kind.temporal,
    )
    rows = rows[keep]
    x, y = split_xy(rows, resolved)
    n_splits = settings.n_splits
    curve_plan = with_folds(resolved, n_splits)
    config = model_selection["selected"]
    note = None
    if config.get("members"):
        # an ensemble's curve would refit every member at every point; its
        # largest member's curve says whether more rows would help
        main = max(config["members"], key=lambda m: m["weight"])
        note = (
            f"curve of the ensemble's largest member, {main['model']} (weight "
            f"{main['weight']:.2f}); the ensemble's own would refit all "
            f"{len(config['members'])} members at every point"
        )
        config = main
    fit_s = next(
        (
            row.get("cv_fit_time_s") or 0.0
            for row in model_selection.get("models", [])
            if row.get("model") == config["model"]
        ),
        0.0,
    )
    # the selection's fits were on its judged rows; the curve's largest fit is
    # on this sample's folds (a million-row run projected 2,000-row fits)
    protocol = model_selection.get("protocol") or {}
    judged = protocol.get("judged_rows") or rows.height
    scale = max(1.0, rows.height / judged)
    projected = fit_s * n_splits * sum(settings.sizes) * scale
    # the final refit and what follows it (kept by the selection) still come
    refit = (model_selection.get("run_budget") or {}).get("projected_refit_s")
    reserved = budget.reserving(refit).reserve_s if refit else 0.0
    if not budget.affords("evaluation", projected + reserved):
        skipped = budget.note(
            "evaluation",
            f"the learning curve was not computed (about {projected:.0f} s of fits)",
        )
        logger.warning("Learning curve: %s", skipped)
        return {
            "points": [],
            "verdict": f"not computed ({skipped})",
            "skipped_by_budget": skipped,
        }
    try:
        splits = cv_splits(rows, y, curve_plan, seed)
    except ValueError as exc:  # a 36-month series has no room for its folds
        why = f"too few rows for {n_splits} learning-curve folds ({exc})"
        logger.warning("Learning curve: not computed: %s", why)
        return {"points": [], "verdict": f"not computed ({why})", "skipped": why}
    curve = learning_curve(
        pipeline_for(resolved, config, tuning, seed),
        x,
        y,
        splits,
        resolved,
        partial(_curve_predictions, problem, resolved),
        partial(config_fit_params, resolved, config),
        list(settings.sizes),
        seed,
    )
    if note:
        curve["note"] = note
    curve.update(sample_note(rows.height, available))
    return curve


def _curve_predictions(
    problem: Any, plan: Any, model: Any, x: pl.DataFrame, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray | None]:
    """A learning-curve model's predictions to score (picklable: the curve's
    fits may run in worker processes)."""
    return problem.evaluation_predictions(model, x, y, plan)


logger = logging.getLogger(__name__)


def compare_all_models(
    plan: dict[str, Any],
    baseline_results: dict[str, Any],
    candidate_results: dict[str, Any],
    tuning_results: dict[str, Any],
    model_selection: dict[str, Any],
    final_model_info: dict[str, Any],
    test_evaluation: dict[str, Any],
) -> dict[str, Any]:
    """Every baseline, candidate, tuned and final model in one table, with the rationale."""
    resolved = load_plan(plan)
    problem = get_problem(resolved.spec.problem_type)
    names = [resolved.spec.primary_metric, *resolved.spec.secondary_metrics]
    final = {
        "metrics": test_evaluation["metrics"]["test"],
        "latency_ms": test_evaluation["latency_ms"],
        "size_mb": test_evaluation["size_mb"],
    }
    table = comparison_table(
        problem.task,
        baseline_results,
        candidate_results,
        tuning_results,
        model_selection,
        final_model_info,
        final,
        names,
    )
    # searches the clock ended before their trial budget: a rerun may differ
    table["tuning_clock_bound"] = list(tuning_results.get("clock_bound") or [])
    # the chosen model against the best constant on the selection's folds
    table["trivial_reference"] = model_selection.get("trivial_reference")
    return table
