"""How the trial budget is shared among the shortlisted models: successive
halving (Jamieson and Talwalkar, 2016) at the level of models.

With two or more models to tune, each first gets half its trials. With
three or more, only the better half of them (by best cross-validated score so
far) go on; with two, both do. A model whose search is flat (four or more
completed trials within ``tuning.flat_search``, 0.1 %, of the best score:
what it tries makes no difference anyone would act on; a tenth of what the
quality benchmark calls a tie) stops, in whichever round, and goes no
further. The models that go on share every
trial the others did not use, so the budget goes to the contenders that are
ahead and to searches that still find differences; when the clock ends the
search, the time goes with the trials (a million-row run spent half its
tuning on twelve logistic regressions within 0.0002 ROC-AUC of each other,
and two trials on the LightGBM ahead of them). One model gets its
``n_trials`` at once. The total number of trials never exceeds ``n_trials``
times the number of models, and the allocation depends on scores only, never
on the clock, so a rerun with the same seed spends its trials the same way;
with the trial budget binding, two rounds give every model the same trials
as one would (each model's study and sampler are its own).
"""

from __future__ import annotations

import math
from typing import Any

HALVING_FROM = 3  # models; with fewer, every model goes on to the second round
ROUNDS_FROM = 2  # models; one model is tuned in a single round
FLAT_MIN_TRIALS = 4  # completed trials before a search can be called flat


def first_round_trials(n_trials: int, n_models: int) -> int:
    """Trials per model in the first round."""
    if n_models < ROUNDS_FROM:
        return n_trials
    return max(1, math.ceil(n_trials / 2))


def flat_scores(means: list[float], tolerance: float | None) -> dict[str, Any] | None:
    """The evidence that a search is flat, or None: at least
    :data:`FLAT_MIN_TRIALS` completed trials whose cross-validated ``means``
    span less than ``tolerance`` times the largest absolute mean (the scale
    of the scores, whichever direction is better), or not at all.
    ``tolerance`` None: never."""
    means = [m for m in means if m is not None and math.isfinite(m)]
    if tolerance is None or len(means) < FLAT_MIN_TRIALS:
        return None
    span = max(means) - min(means)
    limit = tolerance * max(abs(m) for m in means)
    if span > 0 and not span < limit:
        return None
    return {
        "completed_trials": len(means),
        "span": span,
        "limit": limit,
        "rule": f"{len(means)} completed trials span {span:.4g}, less than "
        f"{tolerance:.2%} of the best score ({limit:.4g})",
    }


def flat_search(
    result: dict[str, Any], tolerance: float | None
) -> dict[str, Any] | None:
    """:func:`flat_scores` of a model's tuning result (its completed trials;
    pruned ones do not count)."""
    if result.get("status") != "ok":
        return None
    return flat_scores(
        [
            c["cv_mean"]
            for c in result.get("children", [])
            if c.get("state") == "COMPLETE" and c.get("cv_mean") is not None
        ],
        tolerance,
    )


def second_round(
    results: list[dict[str, Any]],
    searchable: dict[str, bool],
    n_trials: int,
    greater_is_better: bool,
    flat: dict[str, dict[str, Any]] | None = None,
) -> tuple[dict[str, int], dict[str, Any]]:
    """Which models go on, with how many trials in all, after the first round.

    Args:
        results: the first round's per-model results (``model``, ``status``,
            ``metrics.cv_mean``, ``n_complete``/``n_trials``).
        searchable: per model, whether it has anything to search (a model
            without gets one trial and no more).
        n_trials: the per-model trial budget.
        flat: the models whose search is flat (:func:`flat_search`), with the
            evidence; they keep their rank but get no more trials.

    Returns:
        ``{model: total trials}`` for the models that go on, and the record of
        the decision for tuning.json.
    """
    sign = 1.0 if greater_is_better else -1.0
    ranked = sorted(
        (
            r
            for r in results
            if r["status"] == "ok" and r["metrics"]["cv_mean"] is not None
        ),
        key=lambda r: -sign * r["metrics"]["cv_mean"],
    )
    flat = flat or {}
    kept = math.ceil(len(results) / 2) if len(results) >= HALVING_FROM else None
    keep = [r["model"] for r in ranked[:kept]]
    used = {r["model"]: r["n_trials"] for r in results}
    budget = n_trials * len(results) - sum(used.values())
    growing = [m for m in keep if searchable.get(m) and m not in flat]
    totals: dict[str, int] = {}
    if growing and budget > 0:
        share, extra = divmod(budget, len(growing))
        for i, model in enumerate(growing):  # the leader first gets the remainder
            totals[model] = used[model] + share + (1 if i < extra else 0)
    record = {
        "scheme": "successive halving over models",
        "first_round_trials": {m: used[m] for m in used},
        "kept": keep,
        "dropped": [r["model"] for r in results if r["model"] not in keep],
        "flat": {m: flat[m] for m in used if m in flat},
        "total_trials": {m: totals.get(m, used[m]) for m in used},
    }
    return totals, record
