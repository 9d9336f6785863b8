"""Stage steps: the model performance report and its figures."""

from __future__ import annotations

from typing import Any

import polars as pl
from matplotlib.figure import Figure

from model_training.lib.core.frames import split_xy
from model_training.lib.core.plan import load_plan
from model_training.lib.figures import explanation as eval_plots
from model_training.lib.figures.data import Figures
from model_training.lib.problems import get_problem
from model_training.lib.stage.evaluation import test_arrays


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
    timings: dict[str, Any] | None = None,
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
            "members": final_model_info.get("members"),
        },
        "metrics": {
            "training": test_evaluation["metrics"]["train_in_sample"],
            "validation_out_of_fold": test_evaluation["metrics"]["out_of_fold"],
            "test": test_evaluation["metrics"]["test"],
            "test_confidence_intervals": test_evaluation["confidence_intervals"],
        },
        "cross_validation": test_evaluation["cross_validation"],
        "baselines_on_test": test_evaluation.get("baselines_on_test") or None,
        "baselines_refit_rows": test_evaluation.get("baselines_refit_rows"),
        "forecast": {
            k: details[k]
            for k in ("interval", "by_horizon_step", "ljung_box")
            if k in details
        }
        | (
            {"interval_calibration": final_model_info["interval_calibration"]}
            if final_model_info.get("interval_calibration")
            else {}
        )
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
            "shap_sample": {
                k: explanations["shap"][k]
                for k in ("explainer", "rows_explained", "rows_capped", "units")
                if k in explanations["shap"]
            },
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
        "timings": timings,
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
    y, y_pred, y_score = test_arrays(resolved, test_predictions)
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
