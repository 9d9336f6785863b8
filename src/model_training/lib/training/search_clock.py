"""The tuning's deadline under the run's time budget.

The search ends at the tuning checkpoint (or the spec's ``timeout_s``,
whichever comes first), and the checkpoint keeps the final refit on every row,
and what follows it, in reserve (:meth:`Budget.reserving`). Before tuning
starts, the refit can only be projected from the candidates' default fits; a
tuned configuration can cost twice that (a boosted model carries more
iterations): at a million rows the candidates projected a 73 s refit, the
tuned LightGBM's took 141 s, and the run ended 14 % past its budget. So each
time a model's search is about to start, the reserve is projected again from
the trials of the model leading so far, the one the selection judges first
and whose refit it reserves (:func:`leader_refit_seconds`), and after each
of its trials (:class:`StopPastDeadline`): at a million rows a LightGBM trial
takes 50-100 s, and its first one can show that the reserve it needs is
already due.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from model_training.lib.core.budget import Budget
from model_training.lib.training.protocol import (
    candidate_refit_rows,
    candidate_refit_seconds,
    leader_refit_seconds,
)

logger = logging.getLogger(__name__)

# the deadline is written to the work order again only when it moved this
# much earlier (one write to the study's storage per trial at most)
PUBLISH_STEP_S = 1.0


@dataclass
class SearchClock:
    """The run's budget, the search's start (monotonic seconds) and timeout,
    and what the leader's refit is projected from: tuning.json's
    ``cross_validation`` (``n_rows``, ``n_splits``) and the refit's rows."""

    run_budget: Budget
    timeout_s: float
    tuned_on: dict[str, Any]
    refit_rows: int
    greater_is_better: bool
    started: float = field(default_factory=time.monotonic)
    budget: Budget = field(init=False)

    def __post_init__(self) -> None:
        self.budget = self.run_budget

    @classmethod
    def start(
        cls,
        run_budget: Budget,
        timeout_s: float,
        tuned_on: dict[str, Any],
        candidates: dict[str, Any] | None,
        shortlist: list[str],
        train_rows: int,
        greater_is_better: bool,
    ) -> SearchClock:
        """The clock at the search's start, reserving the refit projected
        from the shortlisted candidates' default fits."""
        refit_rows = candidate_refit_rows(candidates) or train_rows
        clock = cls(run_budget, timeout_s, tuned_on, refit_rows, greater_is_better)
        clock.budget = run_budget.reserving(
            candidate_refit_seconds(candidates or {}, shortlist)
        )
        return clock

    def deadline(self, results: list[dict[str, Any]]) -> float:
        """The search's deadline (``time.monotonic()``), the reserve projected
        again from the leader among ``results`` when it has a timed trial."""
        leader = leader_refit_seconds(
            results, self.tuned_on, self.refit_rows, self.greater_is_better
        )
        if leader is not None:
            self.budget = self.run_budget.reserving(leader)
        return min(
            self.started + self.timeout_s, self.budget.monotonic_deadline("tuning")
        )

    def record(self, results: list[dict[str, Any]]) -> dict[str, Any]:
        """tuning.json's ``run_budget`` (empty without a budget): whether the
        run's budget, rather than the spec's timeout, ended a search (those
        models' ``stopped_by`` then says so), the reserve and the due time."""
        budget = self.budget
        binds = budget.monotonic_deadline("tuning") < self.started + self.timeout_s
        bound = [r["model"] for r in results if r.get("stopped_by") == "clock"]
        record: dict[str, Any] = {}
        if binds and bound:
            note = budget.note(
                "tuning", f"the search of {', '.join(bound)} ended early"
            )
            logger.warning("Tuning: %s", note)
            for result in results:
                if result.get("stopped_by") == "clock":
                    result["stopped_by"] = "run budget"
            record = {"bound": True, "note": note}
        if not budget.bounded:
            return record
        return {
            "bound": False,
            **record,
            "reserved_s": round(budget.reserve_s, 1),
            "tuning_due_s": round(budget.time_s * budget.share("tuning"), 1),
        }


class StopPastDeadline:
    """An Optuna callback: after each trial, project the run's tuning
    deadline again with this model's result so far (``interim(study)``) and
    the ``others``' results, and start no further trial once it has passed.
    A trial under way is not cut short by it (its folds stop at the deadline
    it started with).

    ``publish(deadline)``, when given, is called whenever the projection
    brings the deadline (``time.monotonic``) forward of ``round_deadline``
    or of what it last published: the run writes it into the study's work
    order, which the other workers follow (:class:`~.workers.FollowOrder`)."""

    def __init__(
        self,
        clock: SearchClock,
        others: list[dict[str, Any]],
        interim: Callable[[Any], dict[str, Any]],
        publish: Callable[[float], None] | None = None,
        round_deadline: float = float("inf"),
    ) -> None:
        self.clock, self.others, self.interim = clock, others, interim
        self.publish, self.published = publish, round_deadline
        self.stopped = False

    def __call__(self, study: Any, trial: Any) -> None:
        result = self.interim(study)
        others = [r for r in self.others if r.get("model") != result.get("model")]
        due = self.clock.deadline([*others, result])
        if self.publish is not None and due < self.published - PUBLISH_STEP_S:
            self.publish(due)
            self.published = due
        if time.monotonic() >= due:
            if not self.stopped:
                logger.info(
                    "Tuning %s: no further trial: the run's tuning deadline, "
                    "projected again from the trials so far, has passed (%.0f s "
                    "kept for the final fit and evaluation)",
                    result.get("model"),
                    self.clock.budget.reserve_s,
                )
            self.stopped = True
            study.stop()
