"""Nodes of the evaluation pipeline: thin adapters to the evaluation steps in model_training.lib.stage."""

from __future__ import annotations

from typing import Any

import polars as pl
from matplotlib.figure import Figure

from model_training.lib.core.budget import budget_from
from model_training.lib.core.params import (
    BudgetParams,
    DataValidationParams,
    EvaluationParams,
    TuningParams,
)
from model_training.lib.core.schema import FeatureSchema
from model_training.lib.stage import assessments, explanation, performance
from model_training.lib.stage import evaluation as stage
from model_training.lib.stage.timings import run_timings


def check_test_split(
    train: pl.DataFrame,
    test: pl.DataFrame,
    feature_schema: FeatureSchema,
    plan: dict[str, Any],
    options: DataValidationParams,
) -> dict[str, Any]:
    """Check the test split against train before anything is scored on it."""
    return stage.check_test_split(train, test, feature_schema, plan, options)


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
    budget: BudgetParams,
    run_clock: dict[str, Any],
) -> tuple[dict[str, Any], pl.DataFrame]:
    """Test metrics with bootstrap CIs, beside in-sample, out-of-fold and CV scores."""
    return stage.evaluate_on_test(
        plan,
        final_model,
        final_model_info,
        tuning_results,
        train,
        validation,
        test,
        options,
        seed,
        budget_from(budget, run_clock, train.height),
    )


def assess_business_impact(
    plan: dict[str, Any],
    final_model_info: dict[str, Any],
    test_evaluation: dict[str, Any],
    test_predictions: pl.DataFrame,
    baseline_results: dict[str, Any],
) -> dict[str, Any]:
    """Expected cost against the best baseline and trivial policies; the translation table."""
    return stage.assess_business_impact(
        plan, final_model_info, test_evaluation, test_predictions, baseline_results
    )


def explain_final_model(
    plan: dict[str, Any],
    final_model: Any,
    final_model_info: dict[str, Any],
    train: pl.DataFrame,
    test: pl.DataFrame,
    options: EvaluationParams,
    seed: int,
    budget: BudgetParams,
    run_clock: dict[str, Any],
) -> tuple[dict[str, Any], pl.DataFrame]:
    """Native, permutation and SHAP importance, coefficients, partial dependence, local explanations."""
    return explanation.explain_final_model(
        plan,
        final_model,
        final_model_info,
        train,
        test,
        options,
        seed,
        budget_from(budget, run_clock, train.height),
    )


def assess_fairness(
    plan: dict[str, Any],
    test: pl.DataFrame,
    test_predictions: pl.DataFrame,
    options: EvaluationParams,
) -> dict[str, Any]:
    """Group metrics and disparities for every sensitive feature of the spec."""
    return assessments.assess_fairness(plan, test, test_predictions, options)


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
    return assessments.assess_robustness(
        plan, final_model, train, test, test_predictions, options, seed
    )


def compute_learning_curve(
    plan: dict[str, Any],
    train: pl.DataFrame,
    validation: pl.DataFrame,
    model_selection: dict[str, Any],
    tuning: TuningParams,
    options: EvaluationParams,
    seed: int,
    budget: BudgetParams,
    run_clock: dict[str, Any],
) -> dict[str, Any]:
    """Learning curve of the final configuration, cross-validated on train + validation (never test)."""
    return assessments.compute_learning_curve(
        plan,
        train,
        validation,
        model_selection,
        tuning,
        options,
        seed,
        budget_from(budget, run_clock, train.height),
    )


def record_timings(
    candidate_results: dict[str, Any],
    tuning_results: dict[str, Any],
    model_selection: dict[str, Any],
    final_model_info: dict[str, Any],
    learning: dict[str, Any],
    explanations: dict[str, Any],
    train: pl.DataFrame,
    budget: BudgetParams,
    run_clock: dict[str, Any],
) -> dict[str, Any]:
    """Where the run's time went, against its budget (timings.json)."""
    return run_timings(
        candidate_results,
        tuning_results,
        model_selection,
        final_model_info,
        learning,
        explanations,
        budget_from(budget, run_clock, train.height),
    )


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
    return assessments.compare_all_models(
        plan,
        baseline_results,
        candidate_results,
        tuning_results,
        model_selection,
        final_model_info,
        test_evaluation,
    )


def assemble_model_performance(
    plan: dict[str, Any],
    test_data_quality: dict[str, Any],
    test_evaluation: dict[str, Any],
    business_impact: dict[str, Any],
    explanations: dict[str, Any],
    fairness_report: dict[str, Any],
    robustness_report: dict[str, Any],
    learning: dict[str, Any],
    comparison: dict[str, Any],
    final_model_info: dict[str, Any],
    figure_report: dict[str, Any],
    timings: dict[str, Any],
) -> dict[str, Any]:
    """The stage's results/metrics/{epic}_model_performance.json (structure in the README)."""
    return performance.assemble_model_performance(
        plan,
        test_data_quality,
        test_evaluation,
        business_impact,
        explanations,
        fairness_report,
        robustness_report,
        learning,
        comparison,
        final_model_info,
        figure_report,
        timings,
    )


def plot_model_evaluation(
    plan: dict[str, Any],
    test_evaluation: dict[str, Any],
    test_predictions: pl.DataFrame,
    business_impact: dict[str, Any],
    explanations: dict[str, Any],
    shap_values: pl.DataFrame,
    fairness_report: dict[str, Any],
    learning: dict[str, Any],
    test: pl.DataFrame,
    final_model_info: dict[str, Any],
) -> tuple[dict[str, Figure], dict[str, Any]]:
    """Every evaluation figure of reports/figures/{epic}/model/, and which failed."""
    return performance.plot_model_evaluation(
        plan,
        test_evaluation,
        test_predictions,
        business_impact,
        explanations,
        shap_values,
        fairness_report,
        learning,
        test,
        final_model_info,
    )
