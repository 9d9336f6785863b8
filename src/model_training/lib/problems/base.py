"""The interface every problem type implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import polars as pl

from model_training.lib.metrics import compute_metrics
from model_training.lib.plan import ModelingPlan


@dataclass(frozen=True)
class ModelSpec:
    """A named, unfitted model with a one-line description."""

    name: str
    estimator: Any
    description: str


class ProblemType:
    """What differs between problem types, behind one small interface.

    Subclasses set ``name`` and implement :meth:`baselines` and :meth:`predict`.
    """

    name: ClassVar[str]
    task: ClassVar[str]
    # whether the output is a number SHAP and partial dependence can explain
    explainable: ClassVar[bool] = True

    def output_labels(self, plan: ModelingPlan) -> tuple[str, str]:
        """How figures name the explained output: (plain, SHAP axis)."""
        if plan.classes is None:
            label = "predicted " + (plan.spec.target or "value")
            return label, label
        return f"P({plan.classes[-1]})", f"'{plan.classes[-1]}', log-odds"

    def baselines(self, plan: ModelingPlan, seed: int) -> list[ModelSpec]:
        """The stage's baselines for this problem type (unfitted)."""
        raise NotImplementedError

    def default_candidates(self) -> list[str]:
        """The candidate algorithms tried when the spec names none."""
        from model_training.lib.models import available

        return available(self.task)

    def fit(
        self,
        estimator: Any,
        x: pl.DataFrame,
        y: np.ndarray,
        fit_kwargs: dict[str, Any] | None = None,
    ) -> Any:
        """Fit an estimator on training data and return it."""
        return estimator.fit(x, self.target(y), **(fit_kwargs or {}))

    def target(self, y: np.ndarray) -> np.ndarray:
        """The target as the estimators expect it."""
        return y

    def predict(
        self, model: Any, x: pl.DataFrame, plan: ModelingPlan
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Return hard predictions and scores (None when the model has none)."""
        raise NotImplementedError

    def finalize(
        self,
        pipeline: Any,
        x: pl.DataFrame,
        y: np.ndarray,
        plan: ModelingPlan,
        splits: list[tuple[np.ndarray, np.ndarray]],
        fit_kwargs: Any,
        options: dict[str, Any],
        seed: int,
    ) -> tuple[Any, dict[str, Any]]:
        """Fit the final model on all given rows; return it and what was decided."""
        raise NotImplementedError

    def output(self, model: Any, x: pl.DataFrame, plan: ModelingPlan) -> np.ndarray:
        """The number the model is explained and plotted by (a probability or a prediction)."""
        raise NotImplementedError

    def details(
        self,
        y: np.ndarray,
        y_pred: np.ndarray,
        y_score: np.ndarray | None,
        plan: ModelingPlan,
        final_info: dict[str, Any],
    ) -> dict[str, Any]:
        """The problem type's evaluation details on test (confusion matrix, residuals...)."""
        raise NotImplementedError

    def impact(
        self, context: dict[str, Any], plan: ModelingPlan
    ) -> dict[str, Any] | None:
        """Business impact in cost terms, when the spec allows it; None otherwise."""
        return None

    def figures(self, context: dict[str, Any], plan: ModelingPlan) -> dict[str, Any]:
        """The problem type's own evaluation figures."""
        raise NotImplementedError

    def score(
        self, model: Any, x: pl.DataFrame, y: np.ndarray, plan: ModelingPlan
    ) -> dict[str, float]:
        """Every metric of the plan, for a fitted model on one split."""
        y_pred, y_score = self.predict(model, x, plan)
        return compute_metrics(
            plan.spec.metric_names, y, y_pred, y_score, plan.metric_context
        )


def simple_params(estimator: Any) -> dict[str, Any]:
    """The final estimator's scalar hyperparameters (for reports and MLflow)."""
    final = estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator
    params = final.get_params(deep=False)
    out = {"estimator": type(final).__name__}
    out.update(
        {
            k: v
            for k, v in params.items()
            if isinstance(v, (int, float, str, bool)) or v is None
        }
    )
    return out
