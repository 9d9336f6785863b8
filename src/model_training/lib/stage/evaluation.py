"""The evaluation pipeline's steps (its nodes are thin adapters to these)."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import polars as pl

from model_training.lib.assessment import business
from model_training.lib.assessment.bootstrap import bootstrap_ci, seconds_per_resample
from model_training.lib.assessment.sampling import sample_note, sample_rows
from model_training.lib.core.budget import Budget
from model_training.lib.core.errors import fail_soft, failed
from model_training.lib.core.frames import split_xy
from model_training.lib.core.metrics import compute_metrics
from model_training.lib.core.params import DataValidationParams, EvaluationParams
from model_training.lib.core.plan import ModelingPlan, load_plan
from model_training.lib.core.profiling import (
    predict_latency_ms,
    serialized_size_mb,
    throughput_rows_per_s,
)
from model_training.lib.core.schema import FeatureSchema
from model_training.lib.data_quality.checks import (
    raise_if_blocking,
    run_checks,
    summarize,
)
from model_training.lib.problems import get_problem

logger = logging.getLogger(__name__)


def check_test_split(
    train: pl.DataFrame,
    test: pl.DataFrame,
    feature_schema: FeatureSchema,
    plan: dict[str, Any],
    options: DataValidationParams,
) -> dict[str, Any]:
    """Check the test split against train before anything is scored on it.

    Same columns and types, target classes seen in train, missing and
    non-finite values, time order, unseen categories, rows also in train.

    Raises:
        InputError: naming the file, column and fix of every blocking problem.
    """
    spec = load_plan(plan).spec
    frames = {"train": train, "test": test}
    checks = run_checks(
        frames, feature_schema, spec, options.thresholds, held_out_only=True
    )
    raise_if_blocking(checks, spec.epic_id)
    report = summarize(checks, frames, spec, 0)
    for check in report["checks"]:
        if check["status"] == "warn":
            logger.warning(
                "Test split warning (%s): %s", check["name"], check["message"]
            )
    return report


def _predictions_frame(
    plan: ModelingPlan, test: pl.DataFrame, y, y_pred, y_score
) -> pl.DataFrame:
    columns: dict[str, Any] = {
        c: test.get_column(c) for c in plan.spec.id_columns if c in test.columns
    }
    columns["actual"] = pl.Series(y.tolist())
    columns["predicted"] = pl.Series(np.asarray(y_pred).tolist())
    problem = get_problem(plan.spec.problem_type)
    for name, values in problem.score_columns(y_score, plan).items():
        columns[name] = pl.Series(values)
    return pl.DataFrame(columns)


MIN_RESAMPLES = 200
# The in-sample score is taken, and the baselines compared on test are refitted,
# on at most this many train + validation rows (one seeded sample keeping class
# shares; a series keeps every row: at a million rows the logistic baseline's
# refit on 800,000 rows took 19 s for a figure a sample gives as well), and batch
# throughput is timed on at most THROUGHPUT_ROWS test rows: at a million rows
# they had scored 800,000 and 200,000 rows for two figures.
IN_SAMPLE_MAX_ROWS = 100_000
THROUGHPUT_ROWS = 20_000


def affordable_resamples(
    names: list[str],
    y: Any,
    y_pred: Any,
    y_score: Any,
    plan: ModelingPlan,
    options: EvaluationParams,
    budget: Budget | None,
    seed: int = 0,
) -> int:
    """``bootstrap.n_boot``, or fewer (at least 200) when a few resamples,
    timed as the bootstrap scores them, say they would take more than a third
    of the time left before the evaluation checkpoint."""
    wanted = options.bootstrap.n_boot
    if budget is None or not budget.bounded:
        return wanted
    one = max(seconds_per_resample(names, y, y_pred, y_score, plan, seed), 1e-6)
    affordable = int(max(budget.left("evaluation"), 0.0) / 3 / one)
    if affordable >= wanted:
        return wanted
    chosen = max(MIN_RESAMPLES, affordable)
    logger.warning(
        "Test bootstrap: %s",
        budget.note(
            "evaluation",
            f"{chosen} resamples instead of {wanted} ({one * 1000:.0f} ms each)",
        ),
    )
    return chosen


def evaluate_on_test(
    plan: dict[str, Any],
    final_model: Any,
    final_model_info: dict[str, Any],
    tuning_results: dict[str, Any],
    train: pl.DataFrame,
    validation: pl.DataFrame,
    test: pl.DataFrame,
    options: EvaluationParams,
    seed: int,
    budget: Budget | None = None,
) -> tuple[dict[str, Any], pl.DataFrame]:
    """Test metrics with bootstrap CIs, beside in-sample, out-of-fold and CV scores.

    The bootstrap takes ``bootstrap.n_boot`` resamples, or as many as a third
    of the time left before the run budget's evaluation checkpoint affords (at
    least 200; each interval states its number).

    Returns:
        The evaluation and the test predictions (actual, predicted, scores).
    """
    resolved = load_plan(plan)
    problem = get_problem(resolved.spec.problem_type)
    x_test, y_test = split_xy(test, resolved)
    y_pred, y_score = problem.evaluation_predictions(
        final_model, x_test, y_test, resolved
    )
    names = resolved.spec.metric_names
    test_metrics = compute_metrics(
        names, problem.target(y_test), y_pred, y_score, resolved.metric_context
    )
    refit_rows = pl.concat([train, validation], how="diagonal_relaxed")
    x_fit, y_fit = split_xy(refit_rows, resolved)
    key_metrics = list(
        dict.fromkeys([resolved.spec.primary_metric, *resolved.spec.secondary_metrics])
    )
    kind = resolved.spec.kind
    in_sample = (
        np.arange(x_fit.height)
        if kind.temporal
        else sample_rows(
            x_fit.height,
            IN_SAMPLE_MAX_ROWS,
            seed,
            labels=y_fit if kind.classification else None,
        )
    )
    evaluation = {
        "epic_id": resolved.spec.epic_id,
        "model": final_model_info["model"],
        "n_test": x_test.height,
        "train_in_sample_rows": sample_note(len(in_sample), x_fit.height),
        "metrics": {
            "train_in_sample": problem.score(
                final_model,
                x_fit[in_sample],
                None if y_fit is None else np.asarray(y_fit)[in_sample],
                resolved,
            ),
            "out_of_fold": final_model_info.get("oof_metrics", {}),
            "test": test_metrics,
        },
        "cross_validation": {
            m["model"]: {
                "cv_mean": m["metrics"]["cv_mean"],
                "cv_std": m["metrics"]["cv_std"],
            }
            for m in tuning_results["models"]
        },
        "confidence_intervals": bootstrap_ci(
            key_metrics,
            y_test,
            y_pred,
            y_score,
            resolved,
            affordable_resamples(
                key_metrics, y_test, y_pred, y_score, resolved, options, budget, seed
            ),
            seed,
            options.bootstrap.level,
            estimates=test_metrics,
        ),
        "details": problem.details(y_test, y_pred, y_score, resolved, final_model_info),
        "baselines_on_test": problem.reference_on_test(
            resolved,
            seed,
            x_fit[in_sample],
            None if y_fit is None else np.asarray(y_fit)[in_sample],
            x_test,
            y_test,
            final_model_info,
        ),
        "baselines_refit_rows": sample_note(len(in_sample), x_fit.height),
        "latency_ms": predict_latency_ms(
            final_model.predict, x_test[:1], options.latency_repeats
        ),
        "throughput_rows_per_s": throughput_rows_per_s(
            final_model.predict,
            x_test[:THROUGHPUT_ROWS],
            min(THROUGHPUT_ROWS, x_test.height),
        ),
        "size_mb": serialized_size_mb(final_model),
    }
    evaluation["summary"] = {
        f"test_{k}": v for k, v in test_metrics.items() if k in names
    }
    for name, interval in evaluation["confidence_intervals"].items():
        evaluation["summary"][f"test_{name}_ci_low"] = interval["low"]
        evaluation["summary"][f"test_{name}_ci_high"] = interval["high"]
    evaluation["summary"]["latency_p95_ms"] = evaluation["latency_ms"]["p95"]
    primary = resolved.spec.primary_metric
    interval = evaluation["confidence_intervals"].get(primary, {})
    logger.info(
        "Test %s = %.4f (95%% CI %.4f to %.4f) on %d rows",
        primary,
        test_metrics[primary],
        interval.get("low", float("nan")),
        interval.get("high", float("nan")),
        x_test.height,
    )
    return evaluation, _predictions_frame(resolved, test, y_test, y_pred, y_score)


def test_arrays(
    plan: ModelingPlan, predictions: pl.DataFrame
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    y = predictions.get_column("actual").to_numpy()
    y_pred = predictions.get_column("predicted").to_numpy()
    y_score = get_problem(plan.spec.problem_type).scores_from_frame(predictions, plan)
    return y, y_pred, y_score


@fail_soft(
    "Business impact",
    lambda error: failed(error, impact=None, translation=[], summary={}),
)
def assess_business_impact(
    plan: dict[str, Any],
    final_model_info: dict[str, Any],
    test_evaluation: dict[str, Any],
    test_predictions: pl.DataFrame,
    baseline_results: dict[str, Any],
) -> dict[str, Any]:
    """Expected cost against the best baseline and trivial policies; the translation table."""
    resolved = load_plan(plan)
    problem = get_problem(resolved.spec.problem_type)
    y, y_pred, y_score = test_arrays(resolved, test_predictions)
    baseline_name = baseline_results["best"]["name"]
    # the best baseline as evaluation scored it: refitted on train + validation
    # like the final model, on the same test rows, at the same threshold
    on_test = (test_evaluation.get("baselines_on_test") or {}).get(baseline_name) or {}
    context = {
        "y": y,
        "y_pred": y_pred,
        "y_score": y_score,
        "final_info": final_model_info,
        "baseline_cost": on_test.get("expected_cost"),
        "baseline_name": baseline_name,
    }
    impact = problem.impact(context, resolved)
    table = business.translation_table(
        test_evaluation["metrics"]["test"],
        resolved,
        test_evaluation["latency_ms"]["p95"],
        impact,
    )
    summary = {}
    if impact:
        summary = {
            "expected_cost_per_1000": impact["expected_cost_per_1000"]["model"],
            "saving_per_1000_vs_baseline": impact["saving_per_1000_vs_baseline"],
        }
    return {
        "epic_id": resolved.spec.epic_id,
        "impact": impact,
        "translation": table,
        "summary": summary,
    }
