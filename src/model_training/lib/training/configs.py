"""A selection contender's configuration (``{model, params, imbalance}``, or an
ensemble's ``members``): its full parameters, its unfitted pipeline and its
``fit`` keywords, shared by the selection, the final fit and the assessments
that refit it."""

from __future__ import annotations

from typing import Any

import numpy as np

from model_training.lib.algorithms.early_stopping import carried_iterations
from model_training.lib.algorithms.registry import algorithm, build_pipeline, fit_params
from model_training.lib.core.params import TuningParams
from model_training.lib.core.plan import ModelingPlan
from model_training.lib.problems import get_problem
from model_training.lib.training.ensembling import ensemble_estimator


def configuration(
    entry: dict[str, Any],
    defaults: dict[str, dict[str, Any]],
    n_rows: int | None = None,
) -> dict[str, Any]:
    """A tuned model's full configuration: defaults overridden by the best trial,
    and for boosted trees the iteration count early stopping learned, scaled to
    the ``n_rows`` the configuration will be fitted on."""
    params = dict(entry["params"])
    imbalance = params.pop(
        "imbalance", entry.get("start_params", {}).get("imbalance", "none")
    )
    learned = entry.get("learned_iterations")
    if learned and n_rows:
        params[learned["param"]] = carried_iterations(learned, n_rows)
    return {
        "model": entry["model"],
        "params": {**(defaults.get(entry["model"]) or {}), **params},
        "imbalance": imbalance,
    }


def pipeline_for(
    plan: ModelingPlan, config: dict[str, Any], options: TuningParams, seed: int
) -> Any:
    """The unfitted pipeline of a configuration (``{model, params, imbalance}``,
    or an ensemble's ``members``, each a configuration with a ``weight``)."""
    if config.get("members"):
        members = [pipeline_for(plan, m, options, seed) for m in config["members"]]
        return ensemble_estimator(plan, members, config)
    problem = get_problem(plan.spec.problem_type)
    return build_pipeline(
        plan,
        algorithm(problem.task, config["model"]),
        config["params"],
        seed,
        imbalance=config["imbalance"],
        feature_selection=options.feature_selection,
        selection_options=options.feature_selection_options,
    )


def config_fit_params(
    plan: ModelingPlan, config: dict[str, Any], y: np.ndarray
) -> dict[str, Any]:
    """``fit`` keywords of a configuration's pipeline (cost-sensitive sample
    weights; for an ensemble, each member's own)."""
    if config.get("members"):
        return {
            "member_fit_params": [
                fit_params(plan, m["imbalance"], y) for m in config["members"]
            ]
        }
    return fit_params(plan, config["imbalance"], y)
