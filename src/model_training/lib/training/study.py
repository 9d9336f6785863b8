"""One model's study, as every tuning worker sees it: its name, search space, start trial, rows and folds, and the objective a worker runs on it.

The run's tuning node and every worker (a process of the run, or
``model-training-worker`` on another machine) build these from the same
:class:`TuningContext`, so they open the same study and score a trial the
same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna
import polars as pl

from model_training import __version__
from model_training.lib.algorithms.cv import cv_splits, order_for_cv
from model_training.lib.algorithms.early_stopping import EARLY_STOPPING_SCHEME
from model_training.lib.algorithms.registry import algorithm
from model_training.lib.algorithms.target_transform import transform_choices
from model_training.lib.core.frames import split_xy
from model_training.lib.core.params import TuningParams
from model_training.lib.core.plan import ModelingPlan
from model_training.lib.problems import get_problem
from model_training.lib.training.guards import guarded_rows, row_guard
from model_training.lib.training.objective import (
    Claim,
    Objective,
    TuningContext,
    trial_trees,
)
from model_training.lib.training.search import (
    SAMPLER_SCHEME,
    capped_search,
    data_fingerprint,
    fingerprint,
    make_sampler,
    prepare_storage,
)


def tuning_context(
    plan: ModelingPlan,
    train: pl.DataFrame,
    options: TuningParams,
    seed: int,
    defaults: dict[str, dict[str, Any]],
    fixed: dict[str, dict[str, Any]],
    row_guards: dict[str, int] | None = None,
    search: Any = None,
) -> TuningContext:
    """What every study of a run shares: the training rows in CV order, the
    folds, the settings. ``defaults`` already hold the ``fixed`` values;
    ``search``: the spec's search settings after ``tuning.caps`` (computed
    when not given)."""
    ordered = order_for_cv(train, plan)
    x, y = split_xy(ordered, plan)
    problem = get_problem(plan.spec.problem_type)
    return TuningContext(
        plan=plan,
        problem=problem,
        ordered=ordered,
        x=x,
        y=y,
        splits=cv_splits(ordered, y, plan, seed),
        options=options,
        defaults=defaults,
        search=search if search is not None else capped_search(plan, options.caps),
        seed=seed,
        storage=prepare_storage(options.storage),
        data_hash=data_fingerprint(ordered),
        row_guards=dict(row_guards or {}),
        fixed=fixed,
        target_transforms=tuple(
            transform_choices(y, options.target_transform, problem.log_target)
        ),
    )


@dataclass(frozen=True)
class StudySetup:
    """What one model's search is: the same in every worker."""

    model: str
    study_name: str
    space: dict[str, Any]
    imbalance_choices: list[str]
    start_params: dict[str, Any]
    # training rows the search fits (None: all; else a seeded subsample)
    rows: np.ndarray | None
    note: str | None
    # what the trials fit in place of the configuration's trees (forests)
    trial_trees: dict[str, Any]


def study_setup(ctx: TuningContext, name: str) -> StudySetup:
    """The study of model ``name``: named by a fingerprint of the code, the
    data and the search, so a changed setup starts anew and an interrupted one
    resumes."""
    plan, search = ctx.plan, ctx.search
    algo = algorithm(ctx.problem.task, name)
    space = search_space(ctx, name)
    trees = trial_trees(algo, ctx.options, ctx.defaults.get(name), space)
    imbalance_choices = imbalance_options(plan, algo)
    study_name = f"{plan.spec.epic_id}.{name}." + fingerprint(
        __version__,
        SAMPLER_SCHEME,
        # trials of boosted trees record learned iteration counts since then
        EARLY_STOPPING_SCHEME if algo.iterations_param else None,
        ctx.data_hash,
        space,
        ctx.defaults.get(name),
        trees or None,
        search.strategy,
        ctx.seed,
        plan.cv_strategy,
        plan.spec.cross_validation.model_dump(),
        ctx.options.feature_selection,
        plan.spec.primary_metric,
    )
    guard = row_guard(algo, ctx.row_guards, len(plan.features))
    guard = min(guard or ctx.options.max_rows, ctx.options.max_rows)
    keep = guarded_rows(ctx.y, guard, ctx.seed, plan.spec.kind.classification)
    return StudySetup(
        model=name,
        study_name=study_name,
        space=space,
        imbalance_choices=imbalance_choices,
        start_params=start_params(
            space, ctx.defaults.get(name) or {}, imbalance_choices
        ),
        rows=keep,
        note=None
        if keep is None
        else f"tuned on a {guard}-row subsample (row guard or tuning.max_rows)",
        trial_trees=trees,
    )


def open_study(ctx: TuningContext, setup: StudySetup, storage: Any) -> Any:
    """Create the study, or load it when it exists (another worker's, or an
    interrupted run's)."""
    return optuna.create_study(
        study_name=setup.study_name,
        storage=storage,
        load_if_exists=True,
        direction="maximize" if ctx.plan.greater_is_better else "minimize",
        sampler=make_sampler(
            ctx.search.strategy, setup.space, ctx.seed, ctx.options.grid_points
        ),
        pruner=optuna.pruners.MedianPruner(
            n_startup_trials=ctx.options.pruner.n_startup_trials,
            n_warmup_steps=ctx.options.pruner.n_warmup_steps,
        ),
    )


def make_objective(
    ctx: TuningContext, setup: StudySetup, deadline: float, claim: Claim
) -> Objective:
    """The objective a worker runs on the study: its rows, folds and claim."""
    x, y, splits = ctx.x, ctx.y, ctx.splits
    if setup.rows is not None:
        # the folds are cut from the very rows that are fitted (their groups,
        # regions and times), not from the first rows of the split
        x, y = ctx.x[setup.rows], ctx.y[setup.rows]
        splits = cv_splits(ctx.ordered[setup.rows], y, ctx.plan, ctx.seed)
    algo = algorithm(ctx.problem.task, setup.model)
    return Objective(
        ctx,
        algo,
        setup.space,
        setup.imbalance_choices[0],
        deadline,
        x,
        y,
        splits,
        claim,
        trees=setup.trial_trees,
    )


def search_space(ctx: TuningContext, name: str) -> dict[str, Any]:
    """A model's search space: its hyperparameters less the fixed ones, the
    imbalance strategy when there is a choice, and the target transform when
    the target may be fitted on the log scale."""
    algo = algorithm(ctx.problem.task, name)
    space = {
        key: dim
        for key, dim in ctx.options.space(name).items()
        if key not in ctx.fixed.get(name, {})
    }
    choices = imbalance_options(ctx.plan, algo)
    if len(choices) > 1:
        space["imbalance"] = {"type": "categorical", "choices": choices}
    if ctx.target_transforms != ("none",):
        space["target_transform"] = {
            "type": "categorical",
            "choices": list(ctx.target_transforms),
        }
    return space


def imbalance_options(plan: ModelingPlan, algo: Any) -> list[str]:
    """The class-imbalance strategies the search may try for ``algo``."""
    if not plan.spec.kind.classification:
        return ["none"]
    supported = algo.imbalance_options(plan.spec.cost_matrix is not None)
    wanted = plan.spec.imbalance
    if wanted == "auto":
        return supported
    return (
        [wanted]
        if wanted in supported
        else ["class_weight" if "class_weight" in supported else "none"]
    )


def start_params(
    space: dict[str, Any], defaults: dict[str, Any], imbalance: list[str]
) -> dict[str, Any]:
    """The candidate's defaults, restricted to (and clipped into) the search space."""
    start = {}
    for name, dist in space.items():
        if name == "imbalance":
            start[name] = imbalance[0]
        elif name == "target_transform":  # the raw target first, when tried
            start[name] = dist["choices"][0]
        elif name in defaults:
            value = defaults[name]
            if dist["type"] in ("int", "float"):
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    # e.g. svm gamma "scale" against a numeric range: the start
                    # trial samples this one instead
                    continue
                value = min(max(value, dist["low"]), dist["high"])
            elif value not in dist["choices"]:
                continue
            start[name] = value
    return start
