"""Project pipelines: one per stage step, discovered from ``pipelines/``."""

from __future__ import annotations

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline

# Pipelines run on request only, not by a plain `kedro run`.
ON_DEMAND = ("inference", "monitoring")


def register_pipelines() -> dict[str, Pipeline]:
    """Register the project's pipelines.

    Returns:
        A mapping from pipeline name to ``Pipeline``; ``__default__`` is the sum
        of every stage pipeline (all but ``inference``).
    """
    pipelines = find_pipelines(raise_errors=True)
    stage = [p for name, p in pipelines.items() if name not in ON_DEMAND]
    pipelines["__default__"] = sum(stage, Pipeline([]))
    return pipelines
