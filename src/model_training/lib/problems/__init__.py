"""The registry of problem types: everything that differs between them lives here.

Pipelines call :func:`get_problem` with the spec's ``problem_type`` and use the
returned object; they never branch on the problem type themselves.
"""

from __future__ import annotations

from model_training.lib.problems.base import ProblemType
from model_training.lib.problems.classification import (
    BinaryClassification,
    MulticlassClassification,
)
from model_training.lib.problems.regression import Regression
from model_training.lib.problems.time_series import TimeSeries
from model_training.lib.problems.unsupervised import AnomalyDetection, Clustering

_REGISTRY: dict[str, ProblemType] = {
    problem.name: problem
    for problem in (
        BinaryClassification(),
        MulticlassClassification(),
        Regression(),
        Clustering(),
        AnomalyDetection(),
        TimeSeries(),
    )
}


def get_problem(name: str) -> ProblemType:
    """Return the registered problem type, or raise naming the ones available."""
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise NotImplementedError(
            f"problem_type '{name}' is not implemented yet; available: {known}"
        ) from None


def is_registered(name: str) -> bool:
    """Whether a problem type is implemented."""
    return name in _REGISTRY


def registered() -> list[str]:
    """Names of the problem types that are implemented."""
    return sorted(_REGISTRY)


__all__ = ["ProblemType", "get_problem", "is_registered", "registered"]
