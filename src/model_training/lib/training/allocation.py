"""How the trial budget is shared among the shortlisted models: successive
halving (Jamieson and Talwalkar, 2016) at the level of models.

With three or more models to tune, each first gets half its trials; the
better half of them (by best cross-validated score so far) then share every
trial the others did not use, so the budget goes to the contenders that are
ahead. With one or two models, each simply gets its ``n_trials``. The total
number of trials never exceeds ``n_trials`` times the number of models, and
the allocation depends on scores only, never on the clock, so a rerun with
the same seed spends its trials the same way.
"""

from __future__ import annotations

import math
from typing import Any

HALVING_FROM = 3  # models; fewer are each tuned with their full budget


def first_round_trials(n_trials: int, n_models: int) -> int:
    """Trials per model in the first round."""
    if n_models < HALVING_FROM:
        return n_trials
    return max(1, math.ceil(n_trials / 2))


def second_round(
    results: list[dict[str, Any]],
    searchable: dict[str, bool],
    n_trials: int,
    greater_is_better: bool,
) -> tuple[dict[str, int], dict[str, Any]]:
    """Which models go on, with how many trials in all, after the first round.

    Args:
        results: the first round's per-model results (``model``, ``status``,
            ``metrics.cv_mean``, ``n_complete``/``n_trials``).
        searchable: per model, whether it has anything to search (a model
            without gets one trial and no more).
        n_trials: the per-model trial budget.

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
    keep = [r["model"] for r in ranked[: math.ceil(len(results) / 2)]]
    used = {r["model"]: r["n_trials"] for r in results}
    budget = n_trials * len(results) - sum(used.values())
    growing = [m for m in keep if searchable.get(m)]
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
        "total_trials": {m: totals.get(m, used[m]) for m in used},
    }
    return totals, record
