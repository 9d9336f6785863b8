"""What a candidate algorithm is: its family, its factory and what it supports."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

CLASSIFIER = "classification"

REGRESSOR = "regression"

CLUSTERER = "clustering"

DETECTOR = "anomaly_detection"
FORECASTER = "time_series"

# LightGBM's settings that are not hyperparameters: quiet, one thread (the
# stage parallelises nothing yet, and two cores are shared with the rest),
# bit-for-bit reproducible.
LIGHTGBM_FIXED = {
    "verbose": -1,
    "n_jobs": 1,
    "deterministic": True,
    "force_row_wise": True,
}

# CatBoost combines categorical features (target statistics of pairs, triples,
# ...) only in models of 200 iterations or more: max_ctr_complexity is 1 below
# that and 4 from there. The iteration count is learned by early stopping and
# rescaled for each refit, so left implicit, a refit could combine features
# the tuned model did not (150 learned iterations carried to 200 on more rows
# doubled the fit time and changed the model's kind). Unless the
# configuration says, it is CatBoost's value for larger models.
CATBOOST_CTR_COMPLEXITY = 4


def catboost_params(params: dict) -> dict:
    """A CatBoost configuration with its feature-combination depth explicit."""
    return {"max_ctr_complexity": CATBOOST_CTR_COMPLEXITY, **params}


# Imbalance strategies: how each one enters a pipeline.
RESAMPLERS = ("smote", "undersample")

WEIGHTINGS = ("class_weight", "cost_sensitive")
# the family of the gradient-boosted tree learners (``Algorithm.family``)
BOOSTED_TREES = "gradient-boosted trees"


@dataclass(frozen=True)
class Algorithm:
    """A candidate algorithm.

    Attributes:
        name: the key used in specs, parameters and reports.
        task: ``classification`` or ``regression``.
        make: ``make(params, seed, class_weight) -> estimator``.
        description: one line for reports.
        scaled: whether numeric features are standardised first.
        native_categorical: CatBoost-style native categorical handling.
        class_weight: whether the estimator takes ``class_weight``.
        sample_weight: whether ``fit`` takes ``sample_weight``.
        row_guard: rows above which the model is fitted on a subsample
            (its cost grows faster than linearly with rows); None for no guard.
        iterations_param: boosted trees: the hyperparameter that counts
            boosting iterations, learned by early stopping during tuning.
        clusters_param: clusterers: the hyperparameter that sets the number
            of clusters, fixed to the evidence-based k before tuning.
        trees_param: forests: the hyperparameter that counts the trees, which
            more of only lowers variance (not searched; the search's trials
            may fit fewer, ``tuning.search_trees``).
        family: algorithms that build the same kind of model (the
            gradient-boosted trees: CatBoost, LightGBM, HistGradientBoosting);
            None is a family of its own. The ensemble pool takes a candidate
            at its defaults only when no model of its family is in it already.
        interpretability: 1 (opaque) to 5 (transparent), for the comparison.
        cost: 1 (a linear fit, a closed-form forecaster, k-means) to 4
            (kernel machines, neural networks), a fixed class of what fitting
            and serving it costs: the order candidates are tried in when the
            spec names none, so the cheap and strong ones are in before a
            time budget binds; and, two classes apart, what makes a model
            materially simpler to the selection's one-standard-error rule.
    """

    name: str
    task: str
    make: Callable[[dict[str, Any], int, Any], Any]
    description: str
    scaled: bool = True
    native_categorical: bool = False
    class_weight: bool = True
    sample_weight: bool = True
    row_guard: int | None = None
    iterations_param: str | None = None
    clusters_param: str | None = None
    trees_param: str | None = None
    family: str | None = None
    interpretability: int = 3
    cost: int = 2
    extra_imbalance: tuple[str, ...] = field(default_factory=tuple)

    @property
    def kin(self) -> str:
        """The family the ensemble pool counts this algorithm in."""
        return self.family or self.name

    def imbalance_options(self, has_cost_matrix: bool) -> list[str]:
        """The imbalance strategies this algorithm can use."""
        options = ["none"]
        if self.class_weight:
            options.append("class_weight")
        if has_cost_matrix and self.sample_weight:
            options.append("cost_sensitive")
        if not self.native_categorical:
            options += list(RESAMPLERS)
        options += list(self.extra_imbalance)
        return options


def hidden_layers(value: Any) -> tuple[int, ...]:
    if isinstance(value, (list, tuple)):
        return tuple(int(v) for v in value)
    if isinstance(value, str):
        return tuple(int(v) for v in value.split("-") if v)
    return (int(value),)
