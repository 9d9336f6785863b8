"""Example epics made from data sets that ship inside scikit-learn (no download).

* ``diabetes`` (regression): 442 patients, 10 baseline variables, disease
  progression one year later. Efron et al. (2004), *Least Angle Regression*; as
  bundled with scikit-learn (BSD-3-Clause).
* ``wine`` (multiclass): 178 wines, 13 chemical measurements, 3 cultivars. UCI
  Wine data (CC BY 4.0), as bundled with scikit-learn.
* ``breast_cancer`` (binary): 569 tumours, 30 features, malignant or benign. UCI
  Breast Cancer Wisconsin (Diagnostic) (CC BY 4.0), as bundled with scikit-learn.
* ``iris`` (clustering): 150 flowers, 4 measurements; the species is kept as a
  label column for evaluation only. Fisher (1936), UCI Iris (CC BY 4.0), as
  bundled with scikit-learn.
* ``breast_cancer_anomaly`` (anomaly detection): the 357 benign tumours of the
  breast-cancer data as normal rows and 20 malignant ones (drawn with the seed)
  as anomalies, 5.3 %, the construction of the ODDS "WBC" benchmark; the
  diagnosis is a label column for evaluation and the threshold only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from sklearn import datasets

from model_training.lib.core.kinds import kind
from model_training.lib.data_quality.epic_builder import (
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
    label_only: bool = False  # the target is a label column kept for evaluation
    anomalies: int | None = None  # keep this many rows of the last label


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
    "iris": Example(
        datasets.load_iris,
        "clustering",
        "species",
        "Iris data (Fisher, 1936; UCI, CC BY 4.0), bundled with scikit-learn. The "
        "species is a label column for evaluation only.",
        ("setosa", "versicolor", "virginica"),
        label_only=True,
    ),
    "breast_cancer_anomaly": Example(
        datasets.load_breast_cancer,
        "anomaly_detection",
        "diagnosis",
        "UCI Breast Cancer Wisconsin (Diagnostic) (CC BY 4.0), bundled with "
        "scikit-learn: the benign tumours as normal rows and 20 malignant ones, drawn "
        "with the seed, as anomalies (the ODDS 'WBC' construction). The diagnosis is "
        "a label column for evaluation and the threshold only.",
        ("anomaly", "normal"),
        label_only=True,
        anomalies=20,
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
    if example.anomalies is not None:
        rare = example.labels[0]
        frame = pl.concat(
            [
                frame.filter(pl.col(example.target) != rare),
                frame.filter(pl.col(example.target) == rare).sample(
                    example.anomalies, seed=seed
                ),
            ]
        ).sample(fraction=1.0, shuffle=True, seed=seed)
    stratified = kind(example.problem_type).stratify_on is not None
    frames = split_frame(
        frame, seed=seed, stratify=example.target if stratified else None
    )
    roles = {example.target: "label"} if example.label_only else None
    schema = infer_schema(
        frame, epic, target=None if example.label_only else example.target, roles=roles
    )
    doc = feature_documentation(
        schema,
        title=f"Feature documentation: {epic}",
        intro=f"{example.source} Split 60/20/20 with seed {seed}.",
        frames=frames,
    )
    if example.label_only:
        spec = default_spec(
            epic, example.problem_type, None, frame, label_column=example.target
        )
    else:
        spec = default_spec(epic, example.problem_type, example.target, frame)
    return write_epic(root, epic, frames, schema, doc, spec, force=force)
