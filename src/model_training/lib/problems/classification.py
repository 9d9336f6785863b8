"""Binary and multiclass classification."""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
import polars as pl
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from model_training.lib.algorithms.preprocessing import make_preprocessor
from model_training.lib.core.frames import label_array
from model_training.lib.core.params import TuningParams
from model_training.lib.core.plan import ModelingPlan
from model_training.lib.problems.base import ModelSpec, ProblemType


class _Classification(ProblemType):
    task = "classification"

    def card_output(self, classes: Any) -> str:
        return (
            "`predict` gives the decided class; `predict_proba` gives calibrated class "
            f"probabilities in the order {classes}."
        )

    def baselines(self, plan: ModelingPlan, seed: int) -> list[ModelSpec]:
        return [
            ModelSpec(
                "majority_class",
                DummyClassifier(strategy="most_frequent"),
                "always predicts the most common training class",
            ),
            ModelSpec(
                "stratified_random",
                DummyClassifier(strategy="stratified", random_state=seed),
                "predicts classes at random in their training proportions",
            ),
            ModelSpec(
                "logistic_regression",
                Pipeline(
                    [
                        ("preprocess", make_preprocessor(plan)),
                        ("model", LogisticRegression(max_iter=2000, random_state=seed)),
                    ]
                ),
                "untuned logistic regression on imputed, scaled, one-hot features",
                algorithm="logistic_regression",
            ),
        ]

    def reference_on_test(
        self, plan, seed, x_fit, y_fit, x_test, y_test, final_info=None
    ):
        """Baselines on test; in binary problems, decided at the final model's
        threshold, so model and baselines face the same decision rule."""
        threshold = ((final_info or {}).get("threshold") or {}).get("threshold")
        decide = None
        if threshold is not None and plan.classes and len(plan.classes) == 2:
            classes = label_array(plan.classes)

            def decide(scores: np.ndarray) -> np.ndarray:
                return classes[(scores[:, 1] >= threshold).astype(int)]

        return self._baselines_on_test(plan, seed, x_fit, y_fit, x_test, y_test, decide)

    def predict(
        self, model: Any, x: pl.DataFrame, plan: ModelingPlan
    ) -> tuple[np.ndarray, np.ndarray | None]:
        if not hasattr(model, "predict_proba"):
            return np.asarray(model.predict(x)), None
        proba = np.asarray(model.predict_proba(x))
        # the final model's wrappers derive their labels from these same
        # probabilities: the rows are scored once, not twice
        labels_for = getattr(model, "labels_for", None)
        y_pred = np.asarray(
            labels_for(proba) if labels_for is not None else model.predict(x)
        )
        fitted = [str(c) for c in model.classes_]
        order = [
            fitted.index(str(c)) if str(c) in fitted else -1 for c in plan.classes or []
        ]
        scores = np.zeros((len(x), len(order)))
        for j, i in enumerate(order):
            if i >= 0:
                scores[:, j] = proba[:, i]
        return y_pred, scores

    def finalize(
        self,
        pipeline: Any,
        x: pl.DataFrame,
        y: np.ndarray,
        plan: ModelingPlan,
        splits: list[tuple[np.ndarray, np.ndarray]],
        fit_kwargs: Any,
        options: TuningParams,
        seed: int,
        oof: Any = None,
    ) -> tuple[Any, dict[str, Any]]:
        """Refit on all rows, calibrate if it helps, and pick the decision threshold.

        Calibration and threshold are chosen on out-of-fold probabilities of the
        same rows (see :mod:`model_training.lib.algorithms.calibration`), never on test.
        """
        from model_training.lib.algorithms.calibration import (
            choose_calibration,
            fit_calibrators,
            truth_index,
        )
        from model_training.lib.algorithms.cv_eval import out_of_fold
        from model_training.lib.algorithms.final_model import CalibratedModel
        from model_training.lib.core.metrics import compute_metrics

        predict = partial(
            self.predict, plan=plan
        )  # picklable: folds may run in workers
        _, scores, rows, oof_seconds = (
            oof
            if oof is not None
            else out_of_fold(pipeline, x, y, splits, predict, fit_kwargs)
        )
        index = truth_index(y[rows], plan.classes)
        settings = options.calibration
        methods = list(settings.methods) if settings.enabled else []
        calibration = choose_calibration(
            scores, index, methods, seed, settings.min_rows_isotonic
        )
        model = self.fit(pipeline, x, y, fit_kwargs(y))
        if calibration["method"]:
            calibrators = fit_calibrators(calibration["method"], scores, index)
            model = CalibratedModel(
                model, calibrators, list(plan.classes), calibration["method"]
            )
        oof_scores = calibration.pop("scores")
        model, decision, threshold = self.decide(model, oof_scores, index, plan)
        info: dict[str, Any] = {
            "calibration": calibration,
            "oof_seconds": round(oof_seconds, 3),
        }
        if threshold is not None:
            info["threshold"] = threshold
        info["oof_metrics"] = compute_metrics(
            plan.spec.metric_names, y[rows], decision, oof_scores, plan.metric_context
        )
        return model, info

    def output(self, model: Any, x: pl.DataFrame, plan: ModelingPlan) -> np.ndarray:
        """Probability of the positive class (binary) or of the last class (multiclass)."""
        _, scores = self.predict(model, x, plan)
        return scores[:, -1]

    def details(self, y, y_pred, y_score, plan, final_info):
        from model_training.lib.assessment.test_metrics import classification_details

        return classification_details(y, y_pred, y_score, plan)

    def figures(self, context: dict[str, Any], plan: ModelingPlan) -> dict[str, Any]:
        from model_training.lib.figures import classification as eval_plots

        details = context["details"]
        test = context["test_metrics"]
        threshold = (context["final_info"].get("threshold") or {}).get("threshold")
        figures = {
            "roc_curve": eval_plots.roc_curve(details, test, plan.positive_class),
            "confusion_matrix": eval_plots.confusion_matrix(details, threshold),
        }
        if "precision_recall" in details.get("curves", {}):
            figures["precision_recall_curve"] = eval_plots.precision_recall(
                details, test, plan.positive_class
            )
        if "curve" in details.get("calibration", {}):
            method = (context["final_info"].get("calibration") or {}).get("method")
            figures["calibration_curve"] = eval_plots.calibration(details, method)
        impact = context.get("impact")
        if impact:
            figures["threshold_cost_curve"] = eval_plots.threshold_cost(impact)
            figures["business_impact"] = eval_plots.business_bars(impact)
        return figures

    def decide(
        self, model: Any, oof_scores: np.ndarray, index: np.ndarray, plan: ModelingPlan
    ) -> tuple[Any, np.ndarray, dict[str, Any] | None]:
        """Multiclass: the most probable class (no threshold)."""
        return (
            model,
            label_array(plan.classes)[oof_scores.argmax(axis=1)],
            None,
        )


class BinaryClassification(_Classification):
    """Two classes; the spec's ``positive_class`` is the class of interest."""

    name = "binary_classification"

    def decide(
        self, model: Any, oof_scores: np.ndarray, index: np.ndarray, plan: ModelingPlan
    ) -> tuple[Any, np.ndarray, dict[str, Any] | None]:
        """Wrap the model with the threshold that minimises expected cost (0.5 without costs)."""
        from model_training.lib.algorithms.calibration import choose_threshold
        from model_training.lib.algorithms.final_model import ThresholdedClassifier

        cost = plan.metric_context["cost_matrix"]
        threshold: dict[str, Any] = {
            "threshold": 0.5,
            "chosen_by": "default (no cost matrix)",
        }
        if cost is not None:
            labels = [str(v) for v in cost["labels"]]
            table = np.asarray(cost["costs"], dtype=float)
            pos = labels.index(str(plan.positive_class))
            neg = 1 - pos
            threshold = choose_threshold(
                oof_scores[:, 1], index == 1, table[neg, pos], table[pos, neg]
            )
            threshold["chosen_by"] = (
                "minimum expected cost on out-of-fold probabilities"
            )
        wrapped = ThresholdedClassifier(
            model, threshold["threshold"], plan.positive_class
        )
        decision = np.where(
            oof_scores[:, 1] >= threshold["threshold"],
            plan.positive_class,
            plan.classes[0],
        )
        return wrapped, decision, threshold

    def impact(
        self, context: dict[str, Any], plan: ModelingPlan
    ) -> dict[str, Any] | None:
        """Expected cost per 1,000 decisions against the baseline and trivial policies."""
        from model_training.lib.assessment.business import binary_impact

        if plan.metric_context["cost_matrix"] is None:
            return None
        return binary_impact(
            context["y"],
            context["y_score"][:, 1],
            context["final_info"]["threshold"]["threshold"],
            context.get("baseline_cost"),
            context.get("baseline_name", "baseline"),
            plan,
        )


class MulticlassClassification(_Classification):
    """Three or more classes."""

    name = "multiclass_classification"
