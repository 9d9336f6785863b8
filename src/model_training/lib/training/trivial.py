"""Does the chosen model beat a trivial baseline under the selection's own
cross-validation?

The baselines stage scores the trivial baselines (the training mean or median,
the majority class, random classes in their proportions; for a forecast the
last value, the value a season earlier, a moving average) on the validation
split alone; on small data that split is noise, and a tuned model can be
chosen that predicts worse than the mean. Here each trivial baseline is scored
on the very folds the contenders were judged on (a constant needs no
features: it is fitted on the fold's targets alone, in milliseconds at any
size; a naive forecast reads the fold's time column too), and the chosen model's fold-by-fold margin over the best of them is
reported with its corrected standard error. A margin within one standard
error is no evidence that the features predict the target at this sample
size: the run says so (log, ``model_selection.json``, model card) and still
ships the chosen model, whose test score and interval are then read beside
the baseline's.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import polars as pl
from sklearn.base import clone

from model_training.lib.core.metrics import compute_metrics
from model_training.lib.core.plan import ModelingPlan
from model_training.lib.problems import get_problem
from model_training.lib.training.protocol import corrected_standard_error

logger = logging.getLogger(__name__)


def against_trivial(
    plan: ModelingPlan,
    y: np.ndarray,
    splits: list[tuple[np.ndarray, np.ndarray]],
    chosen: dict[str, Any],
    n_train: float,
    n_test: float,
    seed: int,
    x: pl.DataFrame | None = None,
) -> dict[str, Any] | None:
    """The best trivial baseline on ``splits`` and the chosen model's margin
    over it; None for unsupervised problem types. ``x``: the rows ``splits``
    index, which a naive forecast needs (MASE scales by the in-sample
    one-step naive error, so a forecast with MASE below 1 can still lose to
    the naive forecast over the horizon: Nile's did, 0.88 against 0.83)."""
    kind = plan.spec.kind
    if kind.target != "required" or (kind.temporal and x is None):
        return None
    problem = get_problem(plan.spec.problem_type)
    primary = plan.spec.primary_metric
    rows = (  # a constant reads no feature; a naive forecast reads the times
        x
        if kind.temporal
        else pl.DataFrame({"constant": np.zeros(len(y), dtype=np.int8)})
    )
    sign = 1.0 if plan.greater_is_better else -1.0
    scored = {}
    for spec in problem.baselines(plan, seed):
        if spec.algorithm is not None:  # a real model, not a constant
            continue
        folds = []
        for train, valid in splits:
            model = problem.fit(clone(spec.estimator), rows[train], y[train])
            y_pred, y_score = (  # as the contenders were scored
                problem.predict(model, rows[valid], plan)
                if kind.temporal
                else problem.evaluation_predictions(model, rows[valid], y[valid], plan)
            )
            folds.append(
                compute_metrics(
                    [primary], y[valid], y_pred, y_score, plan.metric_context
                )[primary]
            )  # the primary metric alone: the others are not compared
        scored[spec.name] = folds
    if not scored:
        return None
    name = max(scored, key=lambda n: sign * float(np.nanmean(scored[n])))
    baseline = np.asarray(scored[name], dtype=float)
    model = np.asarray(chosen["cv_fold_scores"], dtype=float)
    margins = sign * (model - baseline)
    margin = float(np.nanmean(margins))
    se = corrected_standard_error(list(margins), n_train, n_test)
    beats = bool(margin > (se if np.isfinite(se) else 0.0))
    record = {
        "baseline": name,
        "cv_mean": float(np.nanmean(baseline)),
        "cv_fold_scores": [float(v) for v in baseline],
        "margin": margin,
        "margin_se": se,
        "beats": beats,
        "note": (
            f"{chosen['model']} beats the trivial baseline {name} by {margin:.4g} "
            f"{primary} (standard error {se:.2g}) on the same folds"
            if beats
            else f"{chosen['model']} does not beat the trivial baseline {name} by more "
            f"than one standard error on the same folds (margin {margin:.4g} {primary}, "
            f"standard error {se:.2g}): "
            + (
                f"the {name} forecast does as well or better on this series; read "
                "the test scores side by side"
                if kind.temporal
                else "the features may carry little signal about the target at this "
                "sample size; read the test score beside the baseline's"
            )
        ),
    }
    if not beats:
        logger.warning("Selection: %s", record["note"])
    return record
