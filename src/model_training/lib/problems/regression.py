"""Regression."""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
import polars as pl
from sklearn.dummy import DummyRegressor
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import Pipeline

from model_training.lib.algorithms.preprocessing import make_preprocessor
from model_training.lib.core.params import TuningParams
from model_training.lib.core.plan import ModelingPlan
from model_training.lib.problems.base import ModelSpec, ProblemType


class Regression(ProblemType):
    """A numeric target."""

    name = "regression"
    task = "regression"
    log_target = True

    def baselines(self, plan: ModelingPlan, seed: int) -> list[ModelSpec]:
        return [
            ModelSpec(
                "mean",
                DummyRegressor(strategy="mean"),
                "always predicts the training mean",
            ),
            ModelSpec(
                "median",
                DummyRegressor(strategy="median"),
                "always predicts the training median",
            ),
            ModelSpec(
                "linear_regression",
                Pipeline(
                    [
                        ("preprocess", make_preprocessor(plan)),
                        ("model", LinearRegression()),
                    ]
                ),
                "ordinary least squares on imputed, scaled, one-hot features",
                algorithm="linear_regression",
            ),
        ]

    def reference_on_test(
        self, plan, seed, x_fit, y_fit, x_test, y_test, final_info=None
    ):
        return self._baselines_on_test(plan, seed, x_fit, y_fit, x_test, y_test)

    def target(self, y: np.ndarray) -> np.ndarray:
        return np.asarray(y, dtype=float)

    def predict(
        self, model: Any, x: pl.DataFrame, plan: ModelingPlan
    ) -> tuple[np.ndarray, np.ndarray | None]:
        return np.asarray(model.predict(x), dtype=float), None

    def output(self, model: Any, x: pl.DataFrame, plan: ModelingPlan) -> np.ndarray:
        return np.asarray(model.predict(x), dtype=float)

    def details(self, y, y_pred, y_score, plan, final_info):
        from model_training.lib.assessment.test_metrics import regression_details

        return regression_details(
            y, y_pred, final_info.get("absolute_residual_quantiles")
        )

    def figures(self, context: dict[str, Any], plan: ModelingPlan) -> dict[str, Any]:
        from model_training.lib.figures import regression as eval_plots

        y = np.asarray(context["y"], dtype=float)
        y_pred = np.asarray(context["y_pred"], dtype=float)
        target = plan.spec.target or "target"
        return {
            "residuals": eval_plots.residuals(y, y_pred, target),
            "actual_vs_predicted": eval_plots.actual_vs_predicted(
                y, y_pred, target, context["test_metrics"].get("r2", float("nan"))
            ),
        }

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
        """Refit on all rows; keep out-of-fold residual quantiles for prediction intervals."""
        from model_training.lib.algorithms.cv_eval import out_of_fold
        from model_training.lib.core.metrics import compute_metrics

        predict = partial(
            self.predict, plan=plan
        )  # picklable: folds may run in workers
        reused = oof
        oof, _, rows, oof_seconds = (
            reused
            if reused is not None
            else out_of_fold(pipeline, x, y, splits, predict, fit_kwargs)
        )
        truth = self.target(y[rows])
        residuals = np.abs(truth - oof)
        model = self.fit(pipeline, x, y, fit_kwargs(y))
        levels = (0.8, 0.9, 0.95)
        return model, {
            "oof_seconds": round(oof_seconds, 3),
            "oof_metrics": compute_metrics(
                plan.spec.metric_names, truth, oof, None, plan.metric_context
            ),
            "absolute_residual_quantiles": {
                str(q): float(np.quantile(residuals, q)) for q in levels
            },
        }
