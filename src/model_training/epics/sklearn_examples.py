"""Example epics made from data sets that ship inside scikit-learn (no download).

* ``diabetes`` (regression): 442 patients, 10 baseline variables, disease
  progression one year later. Efron et al. (2004), *Least Angle Regression*; as
  bundled with scikit-learn (BSD-3-Clause).
* ``wine`` (multiclass): 178 wines, 13 chemical measurements, 3 cultivars. UCI
  Wine data (CC BY 4.0), as bundled with scikit-learn.
* ``breast_cancer`` (binary): 569 tumours, 30 features, malignant or benign. UCI
  Breast Cancer Wisconsin (Diagnostic) (CC BY 4.0), as bundled with scikit-learn.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from sklearn import datasets

from model_training.lib.epic_builder import (
    default_spec,
    feature_documentation,
    infer_schema,
    split_frame,
    write_epic,
)


@dataclass(frozen=True)
class Example:
    """One scikit-learn example data set and how to model it."""

    loader: Callable[..., object]
    problem_type: str
    target: str
    source: str
    labels: tuple[str, ...] | None = None


EXAMPLES = {
    "diabetes": Example(
        datasets.load_diabetes,
        "regression",
        "disease_progression",
        "Diabetes data (Efron et al., 2004), bundled with scikit-learn (BSD-3-Clause). "
        "Features are mean-centred and scaled by scikit-learn.",
    ),
    "wine": Example(
        datasets.load_wine,
        "multiclass_classification",
        "cultivar",
        "UCI Wine recognition data (CC BY 4.0), bundled with scikit-learn.",
        ("cultivar_0", "cultivar_1", "cultivar_2"),
    ),
    "breast_cancer": Example(
        datasets.load_breast_cancer,
        "binary_classification",
        "diagnosis",
        "UCI Breast Cancer Wisconsin (Diagnostic) (CC BY 4.0), bundled with scikit-learn.",
        ("malignant", "benign"),
    ),
}


def load_example(name: str) -> pl.DataFrame:
    """The example data set as one polars frame with snake_case columns."""
    example = EXAMPLES[name]
    bunch = example.loader(as_frame=True)
    frame = pl.from_pandas(bunch.frame)
    names = {
        c: c.strip()
        .replace(" ", "_")
        .replace("/", "_")
        .replace("(", "")
        .replace(")", "")
        for c in frame.columns
    }
    frame = frame.rename(names).rename({"target": example.target})
    if example.labels:
        frame = frame.with_columns(
            pl.col(example.target).map_elements(
                lambda i: example.labels[int(i)], return_dtype=pl.String
            )
        )
    return frame


def build(
    root: Path,
    name: str,
    *,
    epic_id: str | None = None,
    seed: int = 42,
    force: bool = False,
) -> list[Path]:
    """Build an example epic (feature folder and modeling spec) under ``root``."""
    example = EXAMPLES[name]
    epic = epic_id or name
    frame = load_example(name)
    classification = example.problem_type != "regression"
    frames = split_frame(
        frame, seed=seed, stratify=example.target if classification else None
    )
    schema = infer_schema(frame, epic, target=example.target)
    doc = feature_documentation(
        schema,
        title=f"Feature documentation: {epic}",
        intro=f"{example.source} Split 60/20/20 with seed {seed}.",
        frames=frames,
    )
    spec = default_spec(epic, example.problem_type, example.target, frame)
    return write_epic(root, epic, frames, schema, doc, spec, force=force)
