"""The interface every problem type implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import polars as pl

from model_training.lib.core.metrics import compute_metrics
from model_training.lib.core.params import TuningParams
from model_training.lib.core.plan import ModelingPlan


@dataclass(frozen=True)
class ModelSpec:
    """A named, unfitted model with a one-line description.

    ``algorithm`` names the candidate algorithm a baseline is an untuned instance
    of (logistic regression, least squares): such a baseline is a real model
    that may itself be tuned and shipped. Trivial baselines (majority class,
    mean, naive forecasts, random clusters) have none.
    """

    name: str
    estimator: Any
    description: str
    algorithm: str | None = None


class ProblemType:
    """What differs between problem types, behind one small interface.

    Subclasses set ``name`` and implement :meth:`baselines` and :meth:`predict`.
    """

    name: ClassVar[str]
    task: ClassVar[str]
    # whether the output is a number SHAP and partial dependence can explain
    explainable: ClassVar[bool] = True
    shap_note: ClassVar[str] = ""
    # False for forecasters: they predict after their history, not rows inside it
    predicts_rows_it_saw: ClassVar[bool] = True
    # whether the search may fit a model on log(1 + target) (regression only)
    log_target: ClassVar[bool] = False

    def native_explanation(
        self, model: Any, x: pl.DataFrame, y_pred: np.ndarray, plan: ModelingPlan
    ) -> dict[str, Any]:
        """The model's own explanation when SHAP does not apply."""
        return {"kind": "none", "values": {}}

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
        """The candidate algorithms tried when the spec names none, cheapest
        first (a stable sort on the algorithms' ``cost``), so that a time
        budget binding during the candidates leaves out the slow ones."""
        from model_training.lib.algorithms.registry import algorithm, available

        names = available(self.task)
        return sorted(names, key=lambda name: algorithm(self.task, name).cost)

    def search_constraints(
        self, plan: ModelingPlan, x: pl.DataFrame, options: TuningParams, seed: int
    ) -> tuple[dict[str, dict[str, Any]], dict[str, Any] | None]:
        """Hyperparameters fixed before tuning, per algorithm, and the evidence
        behind them (None when nothing is fixed)."""
        return {}, None

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
        options: TuningParams,
        seed: int,
        oof: Any = None,
    ) -> tuple[Any, dict[str, Any]]:
        """Fit the final model on all given rows; return it and what was decided.

        ``oof``: the out-of-fold predictions of this configuration on these
        ``splits`` when the selection already computed them (the
        ``out_of_fold`` tuple), so they are not refitted.
        """
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

    def reference_on_test(
        self,
        plan: ModelingPlan,
        seed: int,
        x_fit: pl.DataFrame,
        y_fit: np.ndarray,
        x_test: pl.DataFrame,
        y_test: np.ndarray,
        final_info: dict[str, Any] | None = None,
    ) -> dict[str, dict[str, float]]:
        """Every baseline refitted on train + validation and scored on the test
        rows, as the final model is: the comparison acceptance criteria and the
        model card use (empty where a baseline cannot be scored like the model)."""
        return {}

    def _baselines_on_test(
        self,
        plan: ModelingPlan,
        seed: int,
        x_fit: pl.DataFrame,
        y_fit: np.ndarray,
        x_test: pl.DataFrame,
        y_test: np.ndarray,
        decide: Any = None,
    ) -> dict[str, dict[str, float]]:
        """Refit each baseline on train + validation and score it on test;
        ``decide(scores)`` turns its scores into decisions (the model's threshold)."""
        from sklearn.base import clone

        out = {}
        for spec in self.baselines(plan, seed):
            model = self.fit(clone(spec.estimator), x_fit, y_fit)
            y_pred, y_score = self.evaluation_predictions(model, x_test, y_test, plan)
            if decide is not None and y_score is not None:
                y_pred = decide(y_score)
            out[spec.name] = compute_metrics(
                plan.spec.metric_names, y_test, y_pred, y_score, plan.metric_context
            )
        return out

    def card_wording(
        self, spec: dict[str, Any], performance: dict[str, Any], classes: Any
    ) -> dict[str, Any]:
        """The model card's text of this problem type: purpose, output, own sections."""
        return {
            "purpose": self.card_purpose(spec),
            "output": self.card_output(classes),
            "sections": self.card_sections(spec, performance),
        }

    def card_purpose(self, spec: dict[str, Any]) -> str:
        """What the model is for, in a phrase."""
        text = f"predict `{spec.get('target')}`"
        if spec.get("positive_class") is not None:
            text += f" (positive class `{spec.get('positive_class')}`)"
        return text

    def card_output(self, classes: Any) -> str:
        """What ``predict`` (and friends) give."""
        return "`predict` gives the predicted value."

    def card_sections(
        self, spec: dict[str, Any], performance: dict[str, Any]
    ) -> list[str]:
        """Markdown lines of the problem type's own card section (none by default)."""
        return []

    def monitoring_extras(
        self, test_evaluation: dict[str, Any], train_target: np.ndarray
    ) -> dict[str, Any]:
        """What else the monitoring baseline keeps for this problem type."""
        return {}

    def example_rows(
        self, model: Any, x: pl.DataFrame, plan: ModelingPlan, n: int = 5
    ) -> pl.DataFrame:
        """Rows to show and check the saved model with (an input example)."""
        return x.head(n)

    def evaluation_predictions(
        self, model: Any, x: pl.DataFrame, y: np.ndarray, plan: ModelingPlan
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Predictions to score a held-out split by (time series: walk-forward)."""
        return self.predict(model, x, plan)

    def score_columns(
        self, y_score: np.ndarray | None, plan: ModelingPlan
    ) -> dict[str, np.ndarray]:
        """The scores as named columns of the predictions file."""
        if y_score is None or plan.classes is None:
            return {}
        return {
            f"score_{cls}": np.asarray(y_score)[:, j].astype(float)
            for j, cls in enumerate(plan.classes)
        }

    def scores_from_frame(
        self, frame: pl.DataFrame, plan: ModelingPlan
    ) -> np.ndarray | None:
        """The inverse of :meth:`score_columns`."""
        columns = [f"score_{c}" for c in plan.classes or []]
        return frame.select(columns).to_numpy() if columns else None

    def score(
        self, model: Any, x: pl.DataFrame, y: np.ndarray, plan: ModelingPlan
    ) -> dict[str, float]:
        """Every metric of the plan, for a fitted model on one split."""
        y_pred, y_score = self.evaluation_predictions(model, x, y, plan)
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


def fold_metrics(
    problem: ProblemType,
    pipeline: Any,
    x: pl.DataFrame,
    y: np.ndarray,
    plan: ModelingPlan,
    splits: list[tuple[np.ndarray, np.ndarray]],
) -> dict[str, float]:
    """Every metric on each held-out fold (``problem.fit`` on the rest), averaged.

    For problem types whose out-of-fold predictions cannot be pooled (cluster
    ids of different folds, forecasts from different origins).
    """
    from sklearn.base import clone

    per_fold = []
    for train_rows, valid_rows in splits:
        model = problem.fit(clone(pipeline), x[train_rows], y[train_rows])
        per_fold.append(problem.score(model, x[valid_rows], y[valid_rows], plan))
    return mean_of_folds(per_fold, plan.spec.metric_names)


def mean_of_folds(
    per_fold: list[dict[str, float]], names: list[str]
) -> dict[str, float]:
    """Each metric's mean over the folds where it is defined (nan when none)."""
    return {
        name: float(np.nanmean([f[name] for f in per_fold]))
        if any(np.isfinite(f[name]) for f in per_fold)
        else float("nan")
        for name in names
    }
