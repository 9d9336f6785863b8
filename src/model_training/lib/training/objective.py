"""The objective of one tuning trial: claim a slot of the study's trial budget, build the configuration, cross-validate it fold by fold (reporting to the pruner), stop when the budget is spent."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import optuna
import polars as pl

from model_training.lib.algorithms.cv_eval import fold_scores
from model_training.lib.algorithms.early_stopping import (
    INNER_FRACTION,
    early_stopped_fit,
)
from model_training.lib.algorithms.registry import build_pipeline, fit_params
from model_training.lib.core.params import TuningParams
from model_training.lib.core.plan import ModelingPlan
from model_training.lib.training.search import (
    suggest,
)


class BudgetSpent(Exception):
    """The wall-clock budget ran out inside a trial."""


class ClaimRefused(Exception):
    """Other workers already claimed the whole trial budget: this trial is
    recorded as failed and ``unused`` and never runs."""


@dataclass(frozen=True)
class Claim:
    """A worker's share of one round of a study's search.

    ``budget`` is the number of trials the study holds at the end of the round
    (from earlier rounds and runs included); ``round_id`` tells this round's
    trials from older ones; ``worker`` names who runs them (tuning.json and the
    trial's MLflow run say it).
    """

    round_id: str
    budget: int
    worker: str


_OPEN = (
    optuna.trial.TrialState.COMPLETE,
    optuna.trial.TrialState.PRUNED,
    optuna.trial.TrialState.RUNNING,
    optuna.trial.TrialState.WAITING,
)


def holds_slot(trial: Any, round_id: str) -> bool:
    """Whether a trial takes a slot of the round's budget: finished (completed
    or pruned), running, waiting, or failed with an error in this round (it ran;
    a failure of an earlier round is retried). A trial failed because its
    worker died (no heartbeat) or refused (``unused``) gives its slot back."""
    if trial.state in _OPEN:
        return True
    return (
        trial.state == optuna.trial.TrialState.FAIL
        and "error" in trial.user_attrs
        and trial.user_attrs.get("round") == round_id
    )


def slots_taken(trials: list[Any], round_id: str, below: int | None = None) -> int:
    """Slots of the round's budget the trials hold (those numbered below
    ``below`` only, when given: the claims made before a trial's own)."""
    return sum(
        holds_slot(t, round_id) for t in trials if below is None or t.number < below
    )


@dataclass
class TuningContext:
    """What every model's search shares."""

    plan: ModelingPlan
    problem: Any
    ordered: pl.DataFrame
    x: pl.DataFrame
    y: np.ndarray
    splits: list[tuple[np.ndarray, np.ndarray]]
    options: TuningParams
    defaults: dict[str, dict[str, Any]]
    search: Any
    seed: int
    storage: Any
    data_hash: str
    row_guards: dict[str, int]
    # per algorithm, hyperparameters fixed before tuning (clustering: k)
    fixed: dict[str, dict[str, Any]]
    # what the search may do to a regression target (``none``, ``log1p``)
    target_transforms: tuple[str, ...] = ("none",)


@dataclass(frozen=True)
class EarlyStoppedFit:
    """Fits a fold's pipeline with early stopping; returns (the learned number
    of iterations or None, the inner training rows). Picklable, so folds can
    run in worker processes."""

    plan: ModelingPlan
    imbalance: str
    algo: Any
    seed: int

    def __call__(self, model: Any, x_fold: Any, y_fold: np.ndarray) -> tuple:
        count = early_stopped_fit(
            model,
            x_fold,
            y_fold,
            partial(fit_params, self.plan, self.imbalance),
            self.algo,
            self.plan.spec.kind.classification,
            self.seed,
        )
        return count, round(len(y_fold) * (1 - INNER_FRACTION))


def trial_trees(
    algo: Any,
    options: TuningParams,
    defaults: dict[str, Any] | None,
    space: dict[str, Any],
) -> dict[str, Any]:
    """What a forest's trials fit in place of its configuration's trees:
    ``{param: tuning.search_trees}`` when its trees are not searched and its
    configuration has more; else nothing."""
    param, limit = algo.trees_param, options.search_trees
    if not param or limit is None or param in space:
        return {}
    configured = (defaults or {}).get(param)
    if not isinstance(configured, int) or configured <= limit:
        return {}
    return {param: limit}


class Objective:
    """One model's Optuna objective: mean primary metric over the CV folds."""

    def __init__(
        self,
        ctx: TuningContext,
        algo: Any,
        space: dict[str, Any],
        default_imbalance: str,
        deadline: float,
        x: pl.DataFrame,
        y: np.ndarray,
        splits: list[tuple[np.ndarray, np.ndarray]],
        claim: Claim,
        trees: dict[str, Any] | None = None,
    ) -> None:
        self.ctx, self.algo, self.space = ctx, algo, space
        # what the trials fit in place of a forest's trees (:func:`trial_trees`)
        self.trees = trees or {}
        self.default_imbalance, self.deadline = default_imbalance, deadline
        self.x, self.y, self.splits = x, y, splits
        self.claim = claim

    def __call__(self, trial: Any) -> float:

        ctx, plan, claim = self.ctx, self.ctx.plan, self.claim
        trial.set_user_attr("worker", claim.worker)
        trial.set_user_attr("round", claim.round_id)
        # Optuna numbers trials in the order they are created, so the claims
        # made before this one are the trials numbered below it: when they
        # fill the budget, another worker got there first
        earlier = trial.study.get_trials(deepcopy=False)
        if slots_taken(earlier, claim.round_id, below=trial.number) >= claim.budget:
            trial.set_user_attr("unused", True)
            trial.study.stop()
            raise ClaimRefused(
                f"the trial budget ({claim.budget}) was claimed by other workers"
            )
        params = suggest(trial, self.space)
        imbalance = params.pop("imbalance", self.default_imbalance)
        fixed = {
            k: v
            for k, v in (ctx.defaults.get(self.algo.name) or {}).items()
            if k not in params
        }
        fixed.update(self.trees)
        pipeline = build_pipeline(
            plan,
            self.algo,
            {**fixed, **params},
            ctx.seed,
            imbalance=imbalance,
            feature_selection=ctx.options.feature_selection,
            selection_options=ctx.options.feature_selection_options,
        )
        first = bool(trial.user_attrs.get("start"))

        def report(fold: int, mean: float) -> None:
            if np.isfinite(mean):  # a NaN step made the pruner warn (All-NaN slice)
                trial.report(mean, fold)
            # past the deadline a trial stops, unless that was its last fold;
            # the start trial (the defaults) keeps the folds it has, so that
            # every model keeps a result
            last = fold + 1 == len(self.splits)
            if not last and time.monotonic() > self.deadline:
                raise BudgetSpent
            if trial.should_prune():
                raise optuna.TrialPruned

        scores: list[float] = []
        fitted: list[Any] = []
        try:
            scores = fold_scores(
                pipeline,
                self.x,
                self.y,
                self.splits,
                plan,
                partial(ctx.problem.predict, plan=plan),
                partial(fit_params, plan, imbalance),
                report,
                collect=scores,
                fit=EarlyStoppedFit(plan, imbalance, self.algo, ctx.seed),
                fitted=fitted,
            )
        except BudgetSpent:
            if not (first and scores):
                trial.set_user_attr("stopped", "wall-clock budget")
                raise optuna.TrialPruned from None
            trial.set_user_attr(
                "stopped",
                f"wall-clock budget: the defaults scored on {len(scores)} of "
                f"{len(self.splits)} folds",
            )
        except optuna.TrialPruned:
            raise
        except Exception as exc:
            # Optuna records the trial as failed and goes on; keep the reason
            trial.set_user_attr("error", f"{type(exc).__name__}: {exc}"[:2000])
            raise
        finally:
            trial.set_user_attr("fold_scores", [float(s) for s in scores])
            learned = [(count, rows) for count, rows in fitted if count is not None]
            if learned:
                trial.set_user_attr(
                    "learned_iterations",
                    {
                        "param": self.algo.iterations_param,
                        "per_fold": [count for count, _ in learned],
                        "inner_rows": float(np.mean([rows for _, rows in learned])),
                    },
                )
        if any(math.isnan(s) for s in scores):
            # e.g. a clustering with fewer than two clusters on a fold: a poor
            # configuration, not a failure; recorded and skipped
            trial.set_user_attr(
                "stopped", f"metric {plan.spec.primary_metric} is undefined on a fold"
            )
            raise optuna.TrialPruned
        trial.set_user_attr("cv_std", float(np.std(scores)))
        return float(np.mean(scores))
