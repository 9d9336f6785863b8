"""Build an epic's input folders from one data set: splits, schema, docs, spec.

Used by the ``model-training-epic`` command for the embedded credit_risk epic,
the scikit-learn example epics and any user CSV. The layout it writes is the one
the stage prescribes::

    data/4_processed/{epic}/features/{train,validation,test}_features.csv
    data/4_processed/{epic}/features/feature_schema.yml
    data/4_processed/{epic}/features/feature_documentation.md
    docs/objectives/user_stories/{epic}/modeling_spec.yml
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import yaml
from sklearn.model_selection import train_test_split

from model_training.lib.core.kinds import kind
from model_training.lib.core.schema import ColumnInfo, FeatureSchema

SPLIT_FRACTIONS = (0.6, 0.2, 0.2)


def split_frame(
    frame: pl.DataFrame,
    *,
    seed: int,
    stratify: str | None = None,
    time_column: str | None = None,
    group_column: str | None = None,
    fractions: tuple[float, float, float] = SPLIT_FRACTIONS,
) -> dict[str, pl.DataFrame]:
    """Split rows into train, validation and test.

    Stratified by ``stratify`` when given; chronological (no shuffling) when
    ``time_column`` is given; whole groups of ``group_column`` to one split
    each (:func:`_group_split`); otherwise a seeded random split.
    """
    if abs(sum(fractions) - 1.0) > 1e-9:
        raise ValueError(f"split fractions must add up to 1, got {fractions}")
    n = frame.height
    if group_column and not time_column:
        return _group_split(frame, group_column, stratify, seed, fractions)
    if time_column:
        # cut between periods, so rows of several series sharing a time stay
        # in one split
        times = frame.get_column(time_column).unique().sort()
        a = round(times.len() * fractions[0])
        b = a + round(times.len() * fractions[1])
        ordered = frame.sort(time_column, maintain_order=True)
        column = pl.col(time_column)
        return {
            "train": ordered.filter(column.is_in(times[:a].implode())),
            "validation": ordered.filter(column.is_in(times[a:b].implode())),
            "test": ordered.filter(column.is_in(times[b:].implode())),
        }
    index = np.arange(n)
    labels = _strata(frame.get_column(stratify)) if stratify else None
    rest, test = train_test_split(
        index, test_size=fractions[2], random_state=seed, stratify=labels
    )
    rest_labels = labels[rest] if labels is not None else None
    train, validation = train_test_split(
        rest,
        test_size=fractions[1] / (fractions[0] + fractions[1]),
        random_state=seed,
        stratify=rest_labels,
    )
    return {"train": frame[train], "validation": frame[validation], "test": frame[test]}


def _group_split(
    frame: pl.DataFrame,
    group_column: str,
    stratify: str | None,
    seed: int,
    fractions: tuple[float, float, float],
) -> dict[str, pl.DataFrame]:
    """Every group's rows in one split (rows of one patient, customer or
    household seen in train would flatter the held-out scores): the test
    split is one fold of ``round(1 / test fraction)`` group folds, validation
    one fold of the rest likewise; folds keep the class shares of
    ``stratify`` as far as whole groups allow (scikit-learn's
    StratifiedGroupKFold, else a shuffled GroupKFold)."""
    from sklearn.model_selection import GroupKFold, StratifiedGroupKFold

    groups = _strata(frame.get_column(group_column))
    labels = _strata(frame.get_column(stratify)) if stratify else None
    distinct = len(np.unique(groups))
    if distinct < 3:
        raise ValueError(
            f"column '{group_column}' has {distinct} group(s): three splits of "
            "whole groups need at least three"
        )

    def one_fold(rows: np.ndarray, share: float) -> tuple[np.ndarray, np.ndarray]:
        folds = max(2, min(round(1 / share), len(np.unique(groups[rows]))))
        if labels is not None:
            splitter: Any = StratifiedGroupKFold(folds, shuffle=True, random_state=seed)
        else:
            splitter = GroupKFold(folds, shuffle=True, random_state=seed)
        y = labels[rows] if labels is not None else None
        kept, held = next(splitter.split(rows, y, groups[rows]))
        return rows[kept], rows[held]

    rest, test = one_fold(np.arange(frame.height), fractions[2])
    train, validation = one_fold(rest, fractions[1] / (fractions[0] + fractions[1]))
    return {
        "train": frame[np.sort(train)],
        "validation": frame[np.sort(validation)],
        "test": frame[np.sort(test)],
    }


def _strata(column: pl.Series) -> np.ndarray:
    """The values to stratify on; missing values (an anomaly label may be
    missing for unlabelled rows) are a stratum of their own, as text, so that
    they sort beside the others."""
    if column.null_count():
        column = column.cast(pl.String).fill_null("(missing)")
    return column.to_numpy()


def _dtype_name(series: pl.Series) -> str:
    dtype = series.dtype
    if dtype == pl.Boolean:
        return "bool"
    if dtype.is_integer():
        return "int"
    if dtype.is_float():
        return "float"
    if dtype == pl.Date:
        return "date"
    if dtype.is_temporal():
        return "datetime"
    return "string"


def infer_schema(
    frame: pl.DataFrame,
    epic_id: str,
    *,
    target: str | None,
    roles: dict[str, str] | None = None,
    sensitive: list[str] | None = None,
    descriptions: dict[str, str] | None = None,
    max_listed_values: int = 25,
) -> FeatureSchema:
    """Guess each column's type and role from the data.

    Roles given in ``roles`` win; otherwise the target gets ``target``, a text or
    integer column with one distinct value per row gets ``identifier``, and the
    rest are features.
    """
    roles = dict(roles or {})
    sensitive = set(sensitive or [])
    descriptions = descriptions or {}
    columns = []
    for name in frame.columns:
        series = frame.get_column(name)
        dtype = _dtype_name(series)
        role = roles.get(name)
        if role is None:
            if name == target:
                role = "target"
            elif (
                dtype in ("string", "int")
                and frame.height > 20
                and series.n_unique() == frame.height
            ):
                role = "identifier"
            else:
                role = "feature"
        values = None
        if dtype in ("string", "bool") or (dtype == "int" and series.n_unique() <= 10):
            distinct = series.drop_nulls().unique().sort().to_list()
            if len(distinct) <= max_listed_values:
                values = distinct
        columns.append(
            ColumnInfo(
                name=name,
                dtype=dtype,
                role=role,
                sensitive=name in sensitive,
                description=descriptions.get(name, ""),
                values=values,
            )
        )
    return FeatureSchema(epic_id=epic_id, columns=columns)


def default_spec(
    epic_id: str,
    problem_type: str,
    target: str | None,
    frame: pl.DataFrame,
    **overrides: Any,
) -> dict[str, Any]:
    """A modeling spec with sensible defaults for a problem type."""
    labelled = bool(overrides.get("label_column"))
    traits = kind(problem_type)
    primary, secondary = traits.default_metrics(labelled)
    spec: dict[str, Any] = {
        "epic_id": epic_id,
        "problem_type": problem_type,
        "target": target,
        "primary_metric": primary,
        "secondary_metrics": secondary,
    }
    if traits.binary and target:
        counts = frame.get_column(target).value_counts(sort=True)
        spec["positive_class"] = counts.get_column(target).to_list()[-1]
    spec.update(overrides)
    return spec


def feature_documentation(
    schema: FeatureSchema, *, title: str, intro: str, frames: dict[str, pl.DataFrame]
) -> str:
    """Render the human-readable feature documentation as Markdown."""
    sizes = ", ".join(f"{name} {frame.height} rows" for name, frame in frames.items())
    lines = [
        f"# {title}",
        "",
        intro.strip(),
        "",
        f"Splits: {sizes}. The machine-readable form of this table is "
        "`feature_schema.yml` beside this file; the pipelines read that file.",
        "",
        "Roles: `feature` (model input), `target` (what to predict), `identifier` "
        "(row id, never a model input), `time`, `group`, `label` (evaluation only), "
        "`ignore`. `sensitive` marks attributes for fairness checks.",
        "",
        "| column | type | role | sensitive | meaning | values |",
        "|---|---|---|---|---|---|",
    ]
    train = frames["train"]
    for column in schema.columns:
        if column.values is not None:
            values = ", ".join(f"`{v}`" for v in column.values)
        elif column.dtype in ("int", "float") and column.name in train.columns:
            series = train.get_column(column.name)
            values = f"{series.min()} to {series.max()} (train)"
        else:
            values = ""
        unit = f" ({column.unit})" if column.unit else ""
        lines.append(
            f"| `{column.name}` | {column.dtype} | {column.role} | "
            f"{'yes' if column.sensitive else ''} | {column.description}{unit} | {values} |"
        )
    return "\n".join(lines) + "\n"


def write_epic(
    root: Path,
    epic_id: str,
    frames: dict[str, pl.DataFrame],
    schema: FeatureSchema,
    documentation: str,
    spec: dict[str, Any] | None,
    *,
    force: bool = False,
) -> list[Path]:
    """Write an epic's feature folder and (if given) its modeling spec.

    Refuses to replace an existing epic unless ``force``.

    Returns:
        The files written.
    """
    features = root / "data" / "4_processed" / epic_id / "features"
    story = root / "docs" / "objectives" / "user_stories" / epic_id
    if features.exists() and any(features.iterdir()) and not force:
        raise FileExistsError(
            f"{features} already holds an epic; pass --force to replace it"
        )
    features.mkdir(parents=True, exist_ok=True)
    written = []
    for split, frame in frames.items():
        path = features / f"{split}_features.csv"
        frame.write_csv(path)
        written.append(path)
    schema_path = features / "feature_schema.yml"
    payload = schema.model_dump(mode="json", exclude={"source"}, exclude_none=True)
    schema_path.write_text(
        "# Machine-readable feature documentation (see feature_documentation.md).\n"
        + yaml.safe_dump(payload, sort_keys=False, allow_unicode=True, width=100),
        encoding="utf-8",
    )
    doc_path = features / "feature_documentation.md"
    doc_path.write_text(documentation, encoding="utf-8")
    written += [schema_path, doc_path]
    if spec is not None:
        story.mkdir(parents=True, exist_ok=True)
        spec_path = story / "modeling_spec.yml"
        spec_path.write_text(
            "# Modeling spec (reference: README.md, section 'The modeling spec').\n"
            + yaml.safe_dump(spec, sort_keys=False, allow_unicode=True, width=100),
            encoding="utf-8",
        )
        written.append(spec_path)
        story_path = story / "user_story.md"
        if force or not story_path.exists():
            story_path.write_text(user_story(epic_id, spec), encoding="utf-8")
            written.append(story_path)
    return written


def user_story(epic_id: str, spec: dict[str, Any]) -> str:
    """A first user story for an epic built from data: what the spec says, in
    words, and what the product owner should add (the model card links to it)."""
    kind = str(spec.get("problem_type", "")).replace("_", " ")
    target = spec.get("target")
    goal = f"predict `{target}`" if target else "find structure in the rows"
    criteria = (
        "beside this file."
        if spec.get("acceptance_criteria")
        else "(none yet: the stage reports its results without a pass/fail gate)."
    )
    return "\n".join(
        [
            f"# User story: {epic_id}",
            "",
            "Written by `model-training-epic` from the data; replace the parts in",
            "brackets with the business context.",
            "",
            f"**As** [the team using the predictions], **I want** a model that can {goal}",
            f"({kind}, judged by `{spec.get('primary_metric')}` on held-out data), "
            "**so that** [the decision it supports].",
            "",
            "## Acceptance criteria",
            "",
            "The machine-checked criteria are `acceptance_criteria` in `modeling_spec.yml`",
            criteria,
            "",
        ]
    )
