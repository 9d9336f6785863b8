"""Where the run's time went, against its budget (the performance JSON's
``timings``): each budgeted step's own seconds, the seconds since the run
began when evaluation ended, each checkpoint in seconds, the seconds the
tuning and the selection kept for the final refit and what follows it (and
the deadlines that left them), and the steps where the budget bound."""

from __future__ import annotations

from typing import Any

from model_training.lib.core.budget import Budget


def _seconds(value: Any) -> float | None:
    return None if value is None else round(float(value), 2)


def run_timings(
    candidates: dict[str, Any],
    tuning: dict[str, Any],
    selection: dict[str, Any],
    final_info: dict[str, Any],
    learning: dict[str, Any],
    explanations: dict[str, Any],
    budget: Budget,
) -> dict[str, Any]:
    """The timings section."""
    bound = {
        "candidates": (candidates.get("summary") or {}).get("n_skipped_by_budget", 0)
        > 0,
        "tuning": bool((tuning.get("run_budget") or {}).get("bound")),
        "selection": bool((selection.get("run_budget") or {}).get("bound")),
        "evaluation": bool(
            learning.get("skipped_by_budget")
            or (explanations.get("permutation") or {}).get("skipped_by_budget")
        ),
    }
    return {
        "budget_s": budget.time_s,
        "checkpoints_s": {
            step: round(budget.time_s * share, 1)
            for step, share in budget.checkpoints.items()
        }
        if budget.time_s is not None
        else None,
        # where a projected final refit moved the checkpoints forward
        "reserved_for_final_fit_s": {
            "tuning": (tuning.get("run_budget") or {}).get("reserved_s"),
            "selection": (selection.get("run_budget") or {}).get("reserved_s"),
        },
        "due_s": {
            "tuning": (tuning.get("run_budget") or {}).get("tuning_due_s"),
            "selection": (selection.get("run_budget") or {}).get("selection_due_s"),
        },
        "steps_s": {
            "candidates": _seconds(candidates.get("elapsed_s")),
            "tuning": _seconds(tuning.get("elapsed_s")),
            "selection": _seconds(selection.get("elapsed_s")),
            "final_fit": _seconds(final_info.get("fit_and_finish_s")),
            "learning_curve": _seconds(learning.get("elapsed_s")),
        },
        "elapsed_at_evaluation_end_s": round(budget.elapsed(), 1),
        "budget_bound": [step for step, hit in bound.items() if hit],
    }
