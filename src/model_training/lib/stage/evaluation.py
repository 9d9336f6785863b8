"""The evaluation pipeline's steps (its nodes are thin adapters to these)."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import polars as pl
from matplotlib.figure import Figure

from model_training.lib.algorithms.cv import cv_splits, order_for_cv
from model_training.lib.algorithms.registry import fit_params
from model_training.lib.assessment import business, explain, fairness, robustness
from model_training.lib.assessment.comparison import comparison_table
from model_training.lib.assessment.learning import learning_curve
from model_training.lib.assessment.test_metrics import bootstrap_ci
from model_training.lib.core.errors import fail_soft, failed
from model_training.lib.core.frames import split_xy
from model_training.lib.core.metrics import compute_metrics
from model_training.lib.core.plan import ModelingPlan, load_plan
from model_training.lib.core.profiling import (
    predict_latency_ms,
    serialized_size_mb,
    throughput_rows_per_s,
)
from model_training.lib.core.spec import FeatureSchema
from model_training.lib.data_quality.checks import (
    raise_if_blocking,
    run_checks,
    summarize,
)
from model_training.lib.figures import explanation as eval_plots
from model_training.lib.figures.data import Figures
from model_training.lib.problems import get_problem
from model_training.lib.training.selection import pipeline_for

logger = logging.getLogger(__name__)


def check_test_split(
    train: pl.DataFrame,
    test: pl.DataFrame,
    feature_schema: FeatureSchema,
    plan: dict[str, Any],
    options: dict[str, Any],
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
        frames, feature_schema, spec, options["thresholds"], held_out_only=True
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


def evaluate_on_test(
    plan: dict[str, Any],
    final_model: Any,
    final_model_info: dict[str, Any],
    tuning_results: dict[str, Any],
    train: pl.DataFrame,
    validation: pl.DataFrame,
    test: pl.DataFrame,
    options: dict[str, Any],
    seed: int,
) -> tuple[dict[str, Any], pl.DataFrame]:
    """Test metrics with bootstrap CIs, beside in-sample, out-of-fold and CV scores.

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
    boot = options.get("bootstrap") or {}
    key_metrics = list(
        dict.fromkeys([resolved.spec.primary_metric, *resolved.spec.secondary_metrics])
    )
    evaluation = {
        "epic_id": resolved.spec.epic_id,
        "model": final_model_info["model"],
        "n_test": x_test.height,
        "metrics": {
            "train_in_sample": problem.score(final_model, x_fit, y_fit, resolved),
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
            int(boot.get("n_boot", 1000)),
            seed,
            float(boot.get("level", 0.95)),
            estimates=test_metrics,
        ),
        "details": problem.details(y_test, y_pred, y_score, resolved, final_model_info),
        "baselines_on_test": problem.reference_on_test(
            resolved, seed, x_fit, y_fit, x_test, y_test, final_model_info
        ),
        "latency_ms": predict_latency_ms(
            final_model.predict, x_test[:1], int(options.get("latency_repeats", 100))
        ),
        "throughput_rows_per_s": throughput_rows_per_s(
            final_model.predict, x_test, x_test.height
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


def _arrays(
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
    y, y_pred, y_score = _arrays(resolved, test_predictions)
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


def _no_explanations(error: str) -> tuple[dict[str, Any], pl.DataFrame]:
    explanations = failed(
        error,
        native={},
        permutation={"values": {}},
        shap={"explainer": "failed", "mean_abs_by_feature": {}, "rows_explained": 0},
        coefficients=None,
        partial_dependence={},
        local=[],
    )
    return explanations, pl.DataFrame({"test_row": pl.Series([], dtype=pl.Int64)})


@fail_soft("Explanations (importance, SHAP, partial dependence)", _no_explanations)
def explain_final_model(
    plan: dict[str, Any],
    final_model: Any,
    final_model_info: dict[str, Any],
    train: pl.DataFrame,
    test: pl.DataFrame,
    options: dict[str, Any],
    seed: int,
) -> tuple[dict[str, Any], pl.DataFrame]:
    """Native, permutation and SHAP importance, coefficients, partial dependence, local explanations.

    Returns:
        The explanations and the SHAP values per original feature of the
        explained test rows (``test_row`` is the row's position in the test split).
    """
    resolved = load_plan(plan)
    problem = get_problem(resolved.spec.problem_type)
    x_test, y_test = split_xy(test, resolved)
    x_train, _ = split_xy(train, resolved)
    predict = lambda model, rows: problem.predict(model, rows, resolved)  # noqa: E731
    if not problem.explainable:
        return _explain_without_shap(
            resolved, problem, final_model, x_test, y_test, predict, options, seed
        )
    permutation = explain.permutation_importance(
        final_model,
        x_test,
        y_test,
        resolved,
        predict,
        int(options.get("permutation_repeats", 5)),
        seed,
    )
    shap_result = explain.shap_values(
        final_model,
        x_test,
        x_train,
        resolved,
        seed,
        int((options.get("shap") or {}).get("max_rows", 200)),
    )
    mean_abs = shap_result["by_feature"].abs().mean().sort_values(ascending=False)
    pdp_options = options.get("partial_dependence") or {}
    top = list(mean_abs.index[: int(pdp_options.get("top", 3))])
    output = problem.output(final_model, x_test, resolved)
    threshold = (
        final_model_info.get("threshold")
        or final_model_info.get("anomaly_threshold")
        or {}
    ).get("threshold")
    explanations = {
        "epic_id": resolved.spec.epic_id,
        "native": explain.native_importance(final_model, x_train, resolved),
        "permutation": {
            "metric": resolved.spec.primary_metric,
            "repeats": int(options.get("permutation_repeats", 5)),
            "values": permutation,
        },
        "shap": {
            "explainer": shap_result["explainer"],
            "output": "raw model output toward the positive (binary) or last (multiclass) class, "
            "log-odds for classifiers, before calibration and threshold; the prediction for regression",
            "base_value": shap_result["base_value"],
            "rows_explained": len(shap_result["rows"]),
            "mean_abs_by_feature": {k: float(v) for k, v in mean_abs.items()},
        },
        "coefficients": explain.coefficients(final_model, x_train),
        "partial_dependence": explain.partial_dependence(
            final_model,
            x_test,
            resolved,
            top,
            lambda m, rows: problem.output(m, rows, resolved),
            int(pdp_options.get("grid", 10)),
        ),
        "local": explain.local_explanations(
            shap_result,
            x_test,
            y_test,
            output,
            resolved,
            threshold,
            int(options.get("local_top_features", 8)),
        ),
    }
    frame = pl.from_pandas(shap_result["by_feature"]).with_columns(
        pl.Series("test_row", shap_result["rows"].astype(np.int64))
    )
    return explanations, frame.select(["test_row", *resolved.features])


def _explain_without_shap(
    plan: ModelingPlan,
    problem: Any,
    final_model: Any,
    x_test: pl.DataFrame,
    y_test: np.ndarray,
    predict: Any,
    options: dict[str, Any],
    seed: int,
) -> tuple[dict[str, Any], pl.DataFrame]:
    """Explanations for problem types SHAP does not fit (clustering, forecasting).

    SHAP and partial dependence explain a continuous output from the features of
    a row; a cluster id is not continuous, and a forecast depends on the series'
    own past. The problem type's own explanation (clusters: which features
    separate them, ANOVA F; forecasters: their fitted parameters) and the drop
    of the primary metric when a feature is shuffled are reported instead.
    """
    predictions = np.asarray(final_model.predict(x_test))
    permutation = explain.permutation_importance(
        final_model,
        x_test,
        y_test,
        plan,
        predict,
        int(options.get("permutation_repeats", 5)),
        seed,
    )
    explanations = {
        "epic_id": plan.spec.epic_id,
        "native": problem.native_explanation(final_model, x_test, predictions, plan),
        "permutation": {
            "metric": plan.spec.primary_metric,
            "repeats": int(options.get("permutation_repeats", 5)),
            "values": permutation,
        },
        "shap": {
            "explainer": "not applicable",
            "output": problem.shap_note,
            "base_value": None,
            "rows_explained": 0,
            "mean_abs_by_feature": {},
        },
        "coefficients": None,
        "partial_dependence": {},
        "local": [],
    }
    empty = pl.DataFrame(
        {"test_row": pl.Series([], dtype=pl.Int64)}
        | {f: pl.Series([], dtype=pl.Float64) for f in plan.features}
    )
    return explanations, empty


@fail_soft("Fairness", lambda error: failed(error, attributes={}))
def assess_fairness(
    plan: dict[str, Any],
    test: pl.DataFrame,
    test_predictions: pl.DataFrame,
    options: dict[str, Any],
) -> dict[str, Any]:
    """Group metrics and disparities for every sensitive feature of the spec."""
    resolved = load_plan(plan)
    y, y_pred, _ = _arrays(resolved, test_predictions)
    report = fairness.assess(test, y, y_pred, resolved, options.get("fairness") or {})
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
    options: dict[str, Any],
    seed: int,
) -> dict[str, Any]:
    """Slices, sensitivity to small perturbations, and out-of-distribution rows."""
    resolved = load_plan(plan)
    problem = get_problem(resolved.spec.problem_type)
    settings = options.get("robustness") or {}
    x_test, _ = split_xy(test, resolved)
    x_train, _ = split_xy(train, resolved)
    y, y_pred, y_score = _arrays(resolved, test_predictions)
    return {
        "epic_id": resolved.spec.epic_id,
        "slices": robustness.slices(
            x_test,
            x_train,
            y,
            y_pred,
            y_score,
            resolved,
            int(settings.get("slice_min_rows", 20)),
            int(settings.get("numeric_bins", 4)),
        ),
        "perturbation": robustness.perturbation(
            final_model,
            x_test,
            x_train,
            y,
            resolved,
            lambda m, rows: problem.predict(m, rows, resolved),
            float(settings.get("perturbation_scale", 0.05)),
            seed,
        ),
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
    options: dict[str, Any],
    seed: int,
) -> dict[str, Any]:
    """Learning curve of the final configuration, cross-validated on train + validation (never test)."""
    resolved = load_plan(plan)
    problem = get_problem(resolved.spec.problem_type)
    settings = options.get("learning_curve") or {}
    rows = order_for_cv(
        pl.concat([train, validation], how="diagonal_relaxed"), resolved
    )
    x, y = split_xy(rows, resolved)
    n_splits = int(settings.get("n_splits", 3))
    curve_plan = resolved.model_copy(
        update={
            "spec": resolved.spec.model_copy(
                update={
                    "cross_validation": resolved.spec.cross_validation.model_copy(
                        update={"n_splits": n_splits}
                    )
                }
            )
        }
    )
    config = model_selection["selected"]
    return learning_curve(
        pipeline_for(resolved, config, tuning, seed),
        x,
        y,
        cv_splits(rows, y, curve_plan, seed),
        resolved,
        lambda m, r, y_rows: problem.evaluation_predictions(m, r, y_rows, resolved),
        lambda y_fit: fit_params(resolved, config["imbalance"], y_fit),
        [float(s) for s in settings.get("sizes", [0.2, 0.4, 0.7, 1.0])],
        seed,
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
    return table


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
) -> dict[str, Any]:
    """The stage's results/metrics/{epic}_model_performance.json (structure in the README)."""
    resolved = load_plan(plan)
    details = test_evaluation["details"]
    performance = {
        "epic_id": resolved.spec.epic_id,
        "problem_type": resolved.spec.problem_type,
        "primary_metric": resolved.spec.primary_metric,
        "final_model": {
            "model": final_model_info["model"],
            "params": final_model_info["params"],
            "imbalance": final_model_info["imbalance"],
            "refit_on": final_model_info["refit_on"],
            "threshold": final_model_info.get("threshold"),
        },
        "metrics": {
            "training": test_evaluation["metrics"]["train_in_sample"],
            "validation_out_of_fold": test_evaluation["metrics"]["out_of_fold"],
            "test": test_evaluation["metrics"]["test"],
            "test_confidence_intervals": test_evaluation["confidence_intervals"],
        },
        "cross_validation": test_evaluation["cross_validation"],
        "baselines_on_test": test_evaluation.get("baselines_on_test") or None,
        "forecast": {
            k: details[k]
            for k in ("interval", "by_horizon_step", "ljung_box")
            if k in details
        }
        or None,
        "confusion_matrix": details.get("confusion_matrix"),
        "classification_report": details.get("classification_report"),
        "regression": {
            k: details[k] for k in ("residuals", "prediction_intervals") if k in details
        }
        or None,
        "calibration": {
            "chosen": final_model_info.get("calibration"),
            "test": details.get("calibration"),
        },
        "feature_importance": {
            "permutation": explanations["permutation"],
            "native": explanations["native"],
            "shap_mean_abs": explanations["shap"]["mean_abs_by_feature"],
            "coefficients": explanations.get("coefficients"),
        },
        "local_explanations": explanations["local"],
        "business_impact": business_impact,
        "fairness": fairness_report["attributes"],
        "robustness": robustness_report,
        "learning_curve": learning,
        "comparison": comparison,
        "latency_ms": test_evaluation["latency_ms"],
        "test_data_quality": {
            "status": test_data_quality["status"],
            "checks": test_data_quality["checks"],
        },
        "analyses": {
            name: {"status": report.get("status", "ok"), "error": report.get("error")}
            for name, report in (
                ("business_impact", business_impact),
                ("explanations", explanations),
                ("fairness", fairness_report),
                ("robustness", robustness_report),
                ("learning_curve", learning),
            )
        },
        "figures": figure_report,
    }
    summary = dict(test_evaluation["summary"])
    summary.update(
        {f"business_{k}": v for k, v in (business_impact.get("summary") or {}).items()}
    )
    performance["summary"] = summary
    return performance


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
    """Every evaluation figure of reports/figures/{epic}/model/, and which failed.

    A figure that cannot be drawn is left out and named in the second output
    (the performance JSON's ``figures``), never fatal.
    """
    resolved = load_plan(plan)
    problem = get_problem(resolved.spec.problem_type)
    y, y_pred, y_score = _arrays(resolved, test_predictions)
    context = {
        "y": y,
        "y_pred": y_pred,
        "y_score": y_score,
        "details": test_evaluation["details"],
        "test_metrics": test_evaluation["metrics"]["test"],
        "final_info": final_model_info,
        "impact": business_impact.get("impact"),
        "x_test": split_xy(test, resolved)[0],
    }
    drawn = Figures()
    drawn.add_all(lambda: problem.figures(context, resolved))
    if explanations.get("status") != "failed":
        drawn.add(
            "feature_importance",
            lambda: eval_plots.feature_importance(
                explanations["permutation"]["values"],
                explanations["native"],
                resolved.spec.primary_metric,
            ),
        )
    if shap_values.height:  # no SHAP for clustering and forecasts
        by_feature = shap_values.drop("test_row").to_pandas()
        raw = test[shap_values.get_column("test_row").to_list()]
        output_label, shap_label = problem.output_labels(resolved)
        drawn.add(
            "shap_summary",
            lambda: eval_plots.shap_summary(by_feature, raw, shap_label),
        )
        for i, feature in enumerate(
            list(explanations["shap"]["mean_abs_by_feature"])[:3], 1
        ):
            drawn.add(
                f"shap_dependence_{i}_{feature}",
                lambda f=feature: eval_plots.shap_dependence(
                    f, by_feature, raw, shap_label
                ),
            )
        drawn.add(
            "partial_dependence",
            lambda: eval_plots.partial_dependence(
                explanations["partial_dependence"], output_label
            ),
        )
        for explanation in explanations["local"]:
            drawn.add(
                f"local_explanation_{explanation['reason']}",
                lambda e=explanation: eval_plots.waterfall(e, shap_label),
            )
    if learning.get("points"):
        drawn.add("learning_curve", lambda: eval_plots.learning_curve(learning))
    for name, entry in fairness_report["attributes"].items():
        drawn.add(
            f"fairness_{name}",
            lambda n=name, e=entry: eval_plots.fairness(n, e, resolved.classes is None),
        )
    return drawn.figures, drawn.report()
