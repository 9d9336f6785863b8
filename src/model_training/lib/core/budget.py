"""The run's time budget: one number of seconds for the whole stage, split
into checkpoints the steps must reach in order.

``budget.time_s`` counts from the start of the run (the ``run_clock`` dataset:
the moment the pipeline began). Each step has a checkpoint, a cumulative share
of the budget: candidates must be done by 20 % of it, tuning by 65 %, selection
and the final fit by 82 %, evaluation by 95 %; reporting has the rest. Time a
step does not spend passes to the steps after it, because the checkpoints are
absolute. A step checks its deadline between units of work (a candidate's
fit, a tuning trial's fold, the ensemble pool, an analysis) and, when it has
passed, ends the step the way the step can (skips the remaining candidates,
stops the search, leaves the ensemble out, skips an analysis), logs it and
says so in its report. The first unit of each step always runs, so a run
always ends with a model. ``time_s: null`` is no global budget.

The steps after the selection do not stop between units the way the earlier
ones do: the final refit on every row is one fit, and the evaluation,
explanation and package score the final model on bounded samples. On large
data they need more than the 18 % the fixed checkpoints leave them (at a
million rows, a 121 s refit and about as much again after it, of a 600 s
budget). So once the refit can be projected (from the candidates' fit times
when tuning starts, from the tuning trials when the selection starts), the
budget *reserves* it and what follows it (:func:`reserve_for`): the
checkpoints of the candidates, tuning and selection shrink in proportion so
that the selection ends by ``time_s - reserve``; the evaluation checkpoint
stays. A reserve smaller than the fixed 18 % changes nothing.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from typing import Any

STEPS = ("candidates", "tuning", "selection", "evaluation")
# the steps a reserve for the final fit and what follows it moves forward
BEFORE_FINAL_FIT = ("candidates", "tuning", "selection")
# what the steps after the final fit take beyond it: a fixed part (figures,
# notebook, MLflow, package) and about the refit's time again in scoring the
# final model (at a million rows: a 121 s refit, about 110 s after it; on the
# default epic: under a second, about 10 s)
TAIL_FIXED_S = 15.0
TAIL_PER_REFIT = 1.0


@dataclass(frozen=True)
class Budget:
    """Seconds for the run, its start (epoch seconds) and its checkpoints."""

    time_s: float | None = None
    started: float = field(default_factory=time.time)
    checkpoints: dict[str, float] = field(default_factory=dict)
    # seconds kept for the final fit and every step after it
    reserve_s: float = 0.0

    @property
    def bounded(self) -> bool:
        return self.time_s is not None

    def share(self, step: str) -> float:
        """The share of the budget by which ``step`` must be done: its
        checkpoint, shrunk in proportion when the reserve needs more than the
        share after the selection's checkpoint."""
        share = self.checkpoints.get(step, 1.0)
        if not self.time_s or step not in BEFORE_FINAL_FIT or self.reserve_s <= 0:
            return share
        last = self.checkpoints.get("selection", 1.0)
        window = max(0.0, 1.0 - self.reserve_s / self.time_s)
        return share if window >= last else share * window / last

    def deadline(self, step: str) -> float:
        """Epoch seconds by which ``step`` must be done (inf without a budget)."""
        if self.time_s is None:
            return math.inf
        return self.started + self.time_s * self.share(step)

    def reserving(self, refit_s: float | None) -> Budget:
        """This budget with the projected final refit, and what follows it,
        reserved (:func:`reserve_for`); unchanged without a projection."""
        if not refit_s or refit_s <= 0:
            return self
        return replace(self, reserve_s=reserve_for(refit_s))

    def left(self, step: str) -> float:
        """Seconds ``step`` has left (inf without a budget; may be negative)."""
        return self.deadline(step) - time.time()

    def spent(self, step: str) -> bool:
        """True when ``step``'s deadline has passed."""
        return self.left(step) <= 0

    def affords(self, step: str, seconds: float) -> bool:
        """True when ``seconds`` more of work still ends before ``step``'s
        deadline (always, without a budget)."""
        return self.left(step) > seconds

    def elapsed(self) -> float:
        """Seconds since the run started."""
        return time.time() - self.started

    def monotonic_deadline(self, step: str) -> float:
        """``step``'s deadline on the ``time.monotonic()`` clock."""
        left = self.left(step)
        return math.inf if math.isinf(left) else time.monotonic() + left

    def note(self, step: str, what: str) -> str:
        """The sentence a step logs and reports when its deadline binds."""
        reserved = (
            f", {self.reserve_s:.0f} s kept for the final fit and evaluation"
            if self.share(step) < self.checkpoints.get(step, 1.0)
            else ""
        )
        return (
            f"the run's time budget bound: {what} (budget.time_s = {self.time_s:g} s, "
            f"{step} due {self.share(step):.0%} into it{reserved}, "
            f"{self.elapsed():.0f} s elapsed)"
        )


def reserve_for(refit_s: float) -> float:
    """Seconds the final refit of ``refit_s`` and the steps after it need:
    the refit, :data:`TAIL_FIXED_S` and :data:`TAIL_PER_REFIT` times the
    refit again."""
    return refit_s + TAIL_FIXED_S + TAIL_PER_REFIT * refit_s


# ``time_s: auto``: 200 s, one minute more per 100,000 training rows, at most
# 14 minutes. A run ends up to about 10 % past its budget (start-up, the
# notebook, the steps that cannot stop half-way), so a 10,000-row run
# (budget 204 s) ends within 4 minutes: with 225 s it took 241 s on a
# 2-core machine where a plain CatBoost fits its rows in 12.8 s.
AUTO_BASE_S = 200.0
AUTO_PER_100K_ROWS_S = 60.0
AUTO_MAX_S = 840.0


def seconds_for(time_s: Any, train_rows: int) -> float | None:
    """The budget's seconds: a number as given, ``auto`` scaled with the
    training rows, None for no budget."""
    if time_s is None:
        return None
    if time_s == "auto":
        grown = AUTO_BASE_S + AUTO_PER_100K_ROWS_S * train_rows / 100_000
        return round(min(AUTO_MAX_S, grown), 1)
    return float(time_s)


def budget_from(options: Any, clock: dict[str, Any] | None, train_rows: int) -> Budget:
    """The budget of ``params:budget`` (``time_s``, ``checkpoints``), the
    ``run_clock`` (``started``) and the size of the training split."""
    started = (clock or {}).get("started") or time.time()
    return Budget(
        time_s=seconds_for(options.time_s, train_rows),
        started=float(started),
        checkpoints=dict(options.checkpoints),
    )


def unlimited() -> Budget:
    """No global budget (a step called on its own, e.g. from a notebook)."""
    return Budget()
