"""Stage step: explain the final model (SHAP, permutation and native importance, partial dependence, local explanations)."""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
import polars as pl

from model_training.lib.assessment import explain, inspection, shap_explain
from model_training.lib.assessment.sampling import sample_note, sample_rows
from model_training.lib.core.budget import Budget
from model_training.lib.core.errors import fail_soft, failed
from model_training.lib.core.frames import split_xy
from model_training.lib.core.params import EvaluationParams
from model_training.lib.core.plan import ModelingPlan, load_plan
from model_training.lib.problems import get_problem

logger = logging.getLogger(__name__)

# Under a run budget, a model-agnostic SHAP explainer gets at most this share
# of the time left before the evaluation checkpoint (the rest: permutation
# importance, partial dependence and the evaluation nodes after this one).
SHAP_SHARE = 0.5


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
    options: EvaluationParams,
    seed: int,
    budget: Budget | None = None,
) -> tuple[dict[str, Any], pl.DataFrame]:
    """Native, permutation and SHAP importance, coefficients, partial dependence, local explanations.

    SHAP (bounded by ``shap.max_rows``, and for a model-agnostic explainer by
    ``shap.max_evaluations`` and half the time left before the run budget's
    evaluation checkpoint) runs first. Permutation importance
    and partial dependence (the costly, repeated predictions) are skipped with
    the reason when their passes, timed on one, would not end before the run
    budget's evaluation checkpoint.

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
    keep = _analysis_rows(resolved, x_test.height, y_test, options, seed)
    x_some, y_some = x_test[keep], _rows(y_test, keep)
    # SHAP (bounded in rows, and in time when model-agnostic) first; the
    # repeated predictions of permutation importance and partial dependence
    # get what is left
    shap_result = shap_explain.shap_values(
        final_model,
        x_test,
        x_train,
        resolved,
        seed,
        options.shap.max_rows,
        options.shap.max_evaluations,
        seconds=max(0.0, budget.left("evaluation")) * SHAP_SHARE
        if budget is not None and budget.bounded
        else None,
    )
    mean_abs = shap_result["by_feature"].abs().mean().sort_values(ascending=False)
    native = explain.native_importance(final_model, x_train, resolved)
    shuffled, not_shuffled = _features_to_shuffle(
        resolved, mean_abs, native, options.permutation_max_features
    )
    skipped = _over_budget(
        budget,
        lambda: predict(final_model, x_some),
        len(shuffled) * options.permutation_repeats
        + options.partial_dependence.top * options.partial_dependence.grid,
    )
    permutation = (
        {}
        if skipped
        else inspection.permutation_importance(
            final_model,
            x_some,
            y_some,
            resolved,
            predict,
            options.permutation_repeats,
            seed,
            features=shuffled,
        )
    )
    top = list(mean_abs.index[: options.partial_dependence.top])
    # the local explanations read the output of the explained rows only
    explained = np.asarray(shap_result["rows"], dtype=np.int64)
    output = np.full(x_test.height, np.nan)
    if len(explained):
        output[explained] = problem.output(final_model, x_test[explained], resolved)
    threshold = (
        final_model_info.get("threshold")
        or final_model_info.get("anomaly_threshold")
        or {}
    ).get("threshold")
    explanations = {
        "epic_id": resolved.spec.epic_id,
        "native": native,
        "permutation": {
            "metric": resolved.spec.primary_metric,
            "repeats": options.permutation_repeats,
            **sample_note(len(keep), x_test.height),
            **({"skipped_by_budget": skipped} if skipped else {}),
            **_shuffle_note(shuffled, resolved, not_shuffled),
            "values": permutation,
        },
        "shap": {
            "explainer": shap_result["explainer"],
            "output": LOG_OUTPUT
            if shap_result.get("log_target")
            else "raw model output toward the positive (binary) or last (multiclass) class, "
            "log-odds for classifiers, before calibration and threshold; the prediction for regression",
            **({"units": "log(1 + target)"} if shap_result.get("log_target") else {}),
            "base_value": shap_result["base_value"],
            "rows_explained": len(shap_result["rows"]),
            **(
                {"rows_capped": shap_result["row_cap"]}
                if shap_result.get("row_cap")
                else {}
            ),
            "mean_abs_by_feature": {k: float(v) for k, v in mean_abs.items()},
        },
        "coefficients": explain.coefficients(final_model, x_train),
        "partial_dependence": {}
        if skipped
        else inspection.partial_dependence(
            final_model,
            x_some,
            resolved,
            top,
            lambda m, rows: problem.output(m, rows, resolved),
            options.partial_dependence.grid,
        ),
        "local": explain.local_explanations(
            shap_result,
            x_test,
            y_test,
            output,
            resolved,
            threshold,
            options.local_top_features,
        ),
    }
    frame = pl.from_pandas(shap_result["by_feature"]).with_columns(
        pl.Series("test_row", shap_result["rows"].astype(np.int64))
    )
    return explanations, frame.select(["test_row", *resolved.features])


def _features_to_shuffle(
    plan: ModelingPlan, mean_abs_shap: Any, native: dict[str, Any], most: int
) -> tuple[list[str], str | None]:
    """The features permutation importance shuffles: all of them, or the
    ``most`` with the largest mean |SHAP| (the native importance when SHAP
    gave none), and what is said of the rest."""
    features = list(plan.features)
    if len(features) <= most:
        return features, None
    shap_rank = {str(k): float(v) for k, v in mean_abs_shap.items()}
    if shap_rank:
        by, rank = "mean |SHAP|", shap_rank
    else:
        by = "native importance"
        rank = {k: float(v) for k, v in (native.get("values") or {}).items()}
    # registry order breaks ties (and places features without a score last)
    ordered = sorted(features, key=lambda f: -rank.get(f, float("-inf")))
    kept = set(ordered[:most])
    note = (
        f"{len(features) - most} of {len(features)} features not shuffled: "
        f"only the {most} with the largest {by} are "
        "(evaluation.permutation_max_features)"
    )
    logger.info("Permutation importance: %s", note)
    return [f for f in features if f in kept], note


def _shuffle_note(
    shuffled: list[str], plan: ModelingPlan, note: str | None
) -> dict[str, Any]:
    """What the permutation record says of a capped set of shuffled features."""
    if note is None:
        return {}
    return {
        "features_shuffled": len(shuffled),
        "of_features": len(plan.features),
        "not_shuffled": note,
    }


LOG_OUTPUT = (
    "the prediction of log(1 + target): the model was fitted on that scale "
    "(tuning chose target_transform log1p); a SHAP value v multiplies "
    "(prediction + 1) by about e^v"
)


def _over_budget(budget: Budget | None, one_pass: Any, passes: int) -> str | None:
    """The reason to skip the costly analyses, or None: the evaluation
    checkpoint has passed, or ``passes`` predictions of the analysis rows,
    timed on one (``one_pass()``), would not end before it."""
    if budget is None or not budget.bounded:
        return None
    projected = 0.0
    if not budget.spent("evaluation"):
        started = time.perf_counter()
        one_pass()
        projected = (time.perf_counter() - started) * passes
        if budget.affords("evaluation", projected):
            return None
    note = budget.note(
        "evaluation",
        "permutation importance and partial dependence skipped"
        + (f" (about {projected:.0f} s of predictions)" if projected else ""),
    )
    logger.warning("Explanations: %s", note)
    return note


def _rows(y: np.ndarray | None, keep: np.ndarray) -> np.ndarray | None:
    return None if y is None else np.asarray(y)[keep]


def _analysis_rows(
    plan: ModelingPlan,
    n: int,
    y: np.ndarray | None,
    options: EvaluationParams,
    seed: int,
) -> np.ndarray:
    """Test rows permutation importance and partial dependence score: all, or
    a seeded sample of ``analysis_max_rows`` (class shares kept; the latest
    rows of a series)."""
    kind = plan.spec.kind
    return sample_rows(
        n,
        options.analysis_max_rows,
        seed,
        labels=y if kind.classification and y is not None else None,
        latest=kind.temporal,
    )


def _explain_without_shap(
    plan: ModelingPlan,
    problem: Any,
    final_model: Any,
    x_test: pl.DataFrame,
    y_test: np.ndarray,
    predict: Any,
    options: EvaluationParams,
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
    keep = _analysis_rows(plan, x_test.height, y_test, options, seed)
    native = problem.native_explanation(final_model, x_test, predictions, plan)
    shuffled, not_shuffled = _features_to_shuffle(
        plan, {}, native, options.permutation_max_features
    )
    permutation = inspection.permutation_importance(
        final_model,
        x_test[keep],
        _rows(y_test, keep),
        plan,
        predict,
        options.permutation_repeats,
        seed,
        features=shuffled,
    )
    explanations = {
        "epic_id": plan.spec.epic_id,
        "native": native,
        "permutation": {
            "metric": plan.spec.primary_metric,
            "repeats": options.permutation_repeats,
            **sample_note(len(keep), x_test.height),
            **_shuffle_note(shuffled, plan, not_shuffled),
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
