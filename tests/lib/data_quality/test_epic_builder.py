"""Building epics: splits, schema inference, the committed credit_risk epic."""

from __future__ import annotations

import shutil

import numpy as np
import polars as pl
import pytest

from model_training.epics import cli, credit_risk
from model_training.lib.data_quality.epic_builder import infer_schema, split_frame
from tests.conftest import CREDIT_FEATURES, PROJECT_ROOT, make_frame


def test_split_is_stratified_disjoint_and_reproducible():
    frame = make_frame(500)
    first = split_frame(frame, seed=42, stratify="label")
    again = split_frame(frame, seed=42, stratify="label")
    assert [f.height for f in first.values()] == [300, 100, 100]
    ids = [set(f["row_id"]) for f in first.values()]
    assert not (ids[0] & ids[1]) and not (ids[0] & ids[2]) and not (ids[1] & ids[2])
    share = frame["label"].eq("bad").mean()
    for part in first.values():
        assert part["label"].eq("bad").mean() == pytest.approx(share, abs=0.02)
    for name in first:
        assert first[name].equals(again[name])


def test_time_split_is_chronological():
    frame = make_frame(100).with_columns(pl.int_range(100, 0, -1).alias("t"))
    parts = split_frame(frame, seed=0, time_column="t")
    assert parts["train"]["t"].max() < parts["validation"]["t"].min()
    assert parts["validation"]["t"].max() < parts["test"]["t"].min()


def test_infer_schema_guesses_roles_and_types():
    schema = infer_schema(make_frame(), "x", target="label")
    roles = {c.name: (c.dtype, c.role) for c in schema.columns}
    assert roles["row_id"] == ("int", "identifier")
    assert roles["amount"] == ("float", "feature")
    assert roles["segment"] == ("string", "feature")
    assert roles["label"] == ("string", "target")
    assert schema.column("segment").values == ["business", "retail", "student"]


def test_credit_risk_epic_rebuilds_byte_for_byte(tmp_path):
    shutil.copytree(PROJECT_ROOT / "data" / "1_raw", tmp_path / "data" / "1_raw")
    written = credit_risk.build(tmp_path)
    assert len(written) == 5
    for path in written:
        committed = CREDIT_FEATURES / path.name
        assert path.read_bytes() == committed.read_bytes(), path.name


def test_credit_risk_split_matches_the_issue():
    parts = {
        s: pl.read_csv(CREDIT_FEATURES / f"{s}_features.csv")
        for s in ("train", "validation", "test")
    }
    assert [p.height for p in parts.values()] == [600, 200, 200]
    for part in parts.values():
        assert part["credit_risk"].eq("bad").mean() == pytest.approx(0.30)
    ids = pl.concat([p["applicant_id"] for p in parts.values()])
    assert ids.n_unique() == 1000


def test_cli_refuses_to_overwrite_then_forces(tmp_path, capsys):
    assert cli.main(["--root", str(tmp_path), "sklearn", "wine"]) == 0
    assert (
        "wrote data/4_processed/wine/features/train_features.csv"
        in capsys.readouterr().out
    )
    assert cli.main(["--root", str(tmp_path), "sklearn", "wine"]) == 1
    assert "pass --force" in capsys.readouterr().err
    assert cli.main(["--root", str(tmp_path), "sklearn", "wine", "--force"]) == 0
    spec = (
        tmp_path / "docs/objectives/user_stories/wine/modeling_spec.yml"
    ).read_text()
    assert "problem_type: multiclass_classification" in spec


def from_csv_args(tmp_path, rows: int, target: str, *extra: str) -> list[str]:
    """CLI arguments that build epic 'loans' from a fresh CSV of ``rows`` rows."""
    source = tmp_path / "loans.csv"
    make_frame(rows).write_csv(source)
    return [
        "--root",
        str(tmp_path),
        "from-csv",
        "--epic-id",
        "loans",
        "--csv",
        str(source),
        "--target",
        target,
        "--problem-type",
        "binary_classification",
        *extra,
    ]


def test_from_csv_builds_a_runnable_epic(tmp_path, capsys):
    args = from_csv_args(tmp_path, 200, "label", "--id-column", "row_id")
    assert cli.main(args) == 0
    features = tmp_path / "data/4_processed/loans/features"
    assert sorted(p.name for p in features.iterdir()) == [
        "feature_documentation.md",
        "feature_schema.yml",
        "test_features.csv",
        "train_features.csv",
        "validation_features.csv",
    ]
    assert (
        "review before trusting" in (features / "feature_documentation.md").read_text()
    )
    spec = (
        tmp_path / "docs/objectives/user_stories/loans/modeling_spec.yml"
    ).read_text()
    assert "positive_class: bad" in spec  # the rarer class
    assert "- row_id" in spec
    # the model card links to the user story: from-csv writes a first one
    story = (tmp_path / "docs/objectives/user_stories/loans/user_story.md").read_text()
    assert "# User story: loans" in story and "predict `label`" in story


def test_from_csv_names_a_missing_target(tmp_path, capsys):
    args = from_csv_args(tmp_path, 50, "outcome")
    assert cli.main(args) == 1
    assert "no column(s) outcome" in capsys.readouterr().err


def test_from_csv_builds_a_forecasting_epic_with_several_series(tmp_path):
    import yaml

    months = [f"2020-{m:02d}-01" for m in range(1, 13)] + [
        f"2021-{m:02d}-01" for m in range(1, 13)
    ]
    rows = [
        {"month": m, "store": s, "units": float(i + 10 * j)}
        for i, m in enumerate(months)
        for j, s in enumerate(["north", "south"])
    ]
    source = tmp_path / "sales.csv"
    pl.DataFrame(rows).write_csv(source)
    args = [
        "--root", str(tmp_path), "from-csv", "--epic-id", "sales", "--csv", str(source),
        "--target", "units", "--problem-type", "time_series", "--time-column", "month",
        "--frequency", "MS", "--horizon", "3", "--series-column", "store",
    ]  # fmt: skip
    assert cli.main(args) == 0
    spec = yaml.safe_load(
        (tmp_path / "docs/objectives/user_stories/sales/modeling_spec.yml").read_text()
    )
    assert spec["series_column"] == "store" and spec["forecast_horizon"] == 3
    assert spec["primary_metric"] == "mean_absolute_scaled_error"
    features = tmp_path / "data/4_processed/sales/features"
    schema = yaml.safe_load((features / "feature_schema.yml").read_text())
    roles = {c["name"]: c["role"] for c in schema["columns"]}
    assert roles == {"month": "time", "store": "group", "units": "target"}
    train = pl.read_csv(features / "train_features.csv")
    validation = pl.read_csv(features / "validation_features.csv")
    # cut between periods: both stores of a month stay in one split
    assert train["month"].max() < validation["month"].min()
    assert train.group_by("month").len()["len"].min() == 2


def test_from_csv_names_rows_without_a_target_or_leaves_them_out(tmp_path, capsys):
    source = tmp_path / "loans.csv"
    frame = make_frame(200).with_columns(
        pl.when(pl.col("row_id").is_in([7, 30, 31]))
        .then(None)
        .otherwise(pl.col("label"))
        .alias("label")
    )
    frame.write_csv(source)
    args = from_csv_args(tmp_path, 200, "label")
    frame.write_csv(source)  # from_csv_args wrote a complete file
    assert cli.main(args) == 1
    err = capsys.readouterr().err
    assert f"{source}, column 'label': 3 row(s) have no target value" in err
    assert "line(s) 8, 31, 32)" in err and "--drop-missing-target" in err
    assert not (tmp_path / "data/4_processed/loans").exists()

    assert cli.main([*args, "--drop-missing-target"]) == 0
    assert "note: 3 row(s) of `loans.csv` without a `label` value" in (
        capsys.readouterr().out
    )
    features = tmp_path / "data/4_processed/loans/features"
    rows = sum(
        pl.read_csv(features / f"{s}_features.csv").height
        for s in ("train", "validation", "test")
    )
    assert rows == 197
    assert "without a `label` value were left out" in (
        (features / "feature_documentation.md").read_text()
    )


def test_a_label_with_missing_values_still_stratifies():
    frame = make_frame(200).with_columns(
        pl.when(pl.col("row_id") % 10 == 0)
        .then(None)
        .otherwise(pl.col("label") == "bad")
        .alias("flag")
    )
    parts = split_frame(frame, seed=3, stratify="flag")
    assert sum(p.height for p in parts.values()) == 200
    for part in parts.values():
        assert part.get_column("flag").null_count() > 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "the file is empty; write a header and rows"),
        ("a,b,label\n1,2,x\n3,4,y,5\n", "cannot be read as a comma-separated file"),
        ("a;b;label\n1;2;x\n", "the header looks separated by ';'"),
    ],
)
def test_from_csv_names_an_unreadable_file(tmp_path, capsys, text, expected):
    args = from_csv_args(tmp_path, 10, "label")
    (tmp_path / "loans.csv").write_text(text)
    assert cli.main(args) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"model-training-epic: {tmp_path / 'loans.csv'}: ")
    assert expected in err and "Traceback" not in err


def test_from_csv_reads_na_markers_as_missing_numbers(tmp_path):
    args = from_csv_args(tmp_path, 200, "label")
    source = tmp_path / "loans.csv"
    frame = make_frame(200).with_columns(
        pl.when(pl.col("row_id") % 7 == 0)
        .then(pl.lit("NA"))
        .otherwise(pl.col("amount").cast(pl.String))
        .alias("amount")
    )
    frame.write_csv(source)
    assert cli.main(args) == 0
    features = tmp_path / "data/4_processed/loans/features"
    schema = (features / "feature_schema.yml").read_text()
    assert "- name: amount\n  dtype: float" in schema
    parts = [
        pl.read_csv(features / f"{s}_features.csv")
        for s in ("train", "validation", "test")
    ]
    assert sum(p.get_column("amount").null_count() for p in parts) == 28
    assert all(p.schema["amount"].is_numeric() for p in parts)
    assert "Read as missing: empty cells and NA" in (
        (features / "feature_documentation.md").read_text()
    )


def test_from_csv_chooses_time_ordered_folds_that_hold_every_class(tmp_path, capsys):
    """Positives come in short episodes: five time-ordered folds leave
    validation blocks without one (ROC-AUC undefined there, the run would stop
    at data validation); from-csv writes the most folds that hold every class."""
    import yaml

    n = 200
    episode = [any(s <= i < s + 4 for s in range(10, n, 25)) for i in range(n)]
    rng = np.random.default_rng(0)
    frame = pl.DataFrame(
        {
            "quarter": [f"{1950 + i // 4}-{1 + 3 * (i % 4):02d}-01" for i in range(n)],
            "spread": rng.normal(size=n),
            "recession": ["yes" if e else "no" for e in episode],
        }
    )
    source = tmp_path / "macro.csv"
    frame.write_csv(source)
    args = [
        "--root",
        str(tmp_path),
        "from-csv",
        "--epic-id",
        "macro",
        "--csv",
        str(source),
        "--target",
        "recession",
        "--problem-type",
        "binary_classification",
        "--time-column",
        "quarter",
    ]
    assert cli.main(args) == 0
    assert "note: cross_validation.n_splits is 4, not 5" in capsys.readouterr().out
    spec_path = tmp_path / "docs/objectives/user_stories/macro/modeling_spec.yml"
    spec = yaml.safe_load(spec_path.read_text())
    assert spec["cross_validation"] == {"n_splits": 4}
    # the run's own check passes on what was written
    from model_training.lib.core.schema import FeatureSchema
    from model_training.lib.core.spec import ModelingSpec
    from model_training.lib.data_quality.context import Context
    from model_training.lib.data_quality.time_folds import check_time_folds

    features = tmp_path / "data/4_processed/macro/features"
    frames = {
        s: pl.read_csv(features / f"{s}_features.csv") for s in ("train", "validation")
    }
    schema = FeatureSchema.model_validate(
        yaml.safe_load((features / "feature_schema.yml").read_text())
    )
    check = check_time_folds(
        Context(frames, schema, ModelingSpec.model_validate(spec), None)
    )
    assert check.status == "pass"


@pytest.mark.parametrize("stratify", ["label", None])
def test_a_group_split_keeps_every_group_in_one_split(stratify):
    frame = make_frame(600).with_columns((pl.col("row_id") % 60).alias("patient"))
    parts = split_frame(frame, seed=7, stratify=stratify, group_column="patient")
    again = split_frame(frame, seed=7, stratify=stratify, group_column="patient")
    groups = [set(p["patient"]) for p in parts.values()]
    assert not (groups[0] & groups[1] or groups[0] & groups[2] or groups[1] & groups[2])
    assert sum(p.height for p in parts.values()) == 600
    assert [len(g) for g in groups] == [36, 12, 12]  # 60/20/20 of the groups
    for name in parts:
        assert parts[name].equals(again[name])
    with pytest.raises(ValueError, match="2 group"):
        split_frame(
            frame.with_columns(pl.col("row_id") % 2), seed=0, group_column="row_id"
        )


def test_from_csv_keeps_groups_together_and_asks_for_group_folds(tmp_path, capsys):
    import yaml

    from model_training.lib.core.plan import build_plan
    from model_training.lib.core.schema import FeatureSchema
    from model_training.lib.core.spec import ModelingSpec

    source = tmp_path / "visits.csv"
    make_frame(300).with_columns((pl.col("row_id") % 50).alias("patient")).write_csv(
        source
    )
    args = from_csv_args(tmp_path, 300, "label", "--group-column", "patient")
    args[args.index("--csv") + 1] = str(source)
    assert cli.main(args) == 0
    features = tmp_path / "data/4_processed/loans/features"
    splits = {
        s: set(pl.read_csv(features / f"{s}_features.csv")["patient"])
        for s in ("train", "validation", "test")
    }
    assert not (splits["train"] & (splits["validation"] | splits["test"]))
    spec = yaml.safe_load(
        (tmp_path / "docs/objectives/user_stories/loans/modeling_spec.yml").read_text()
    )
    assert spec["group_column"] == "patient"
    schema = yaml.safe_load((features / "feature_schema.yml").read_text())
    roles = {c["name"]: c["role"] for c in schema["columns"]}
    assert roles["patient"] == "group"
    plan = build_plan(
        ModelingSpec.model_validate(spec),
        FeatureSchema.model_validate(schema),
        pl.read_csv(features / "train_features.csv"),
    )
    assert plan.cv_strategy == "stratified_group_kfold"
    assert "patient" not in plan.numeric_features + plan.categorical_features
    assert (
        "whole groups of `patient`"
        in (features / "feature_documentation.md").read_text()
    )
    timed = [*args, "--force", "--time-column", "row_id"]
    assert cli.main(timed) == 1
    assert "--group-column is for rows that are not in time order" in (
        capsys.readouterr().err
    )


def test_from_csv_reads_names_and_cells_as_their_writer_meant_them(tmp_path, capsys):
    """Spaces around names and cells, an unnamed column, a name given twice,
    numbers with thousands separators or a currency sign, and a file that is
    not UTF-8: each read as meant, or refused with the fix, and said."""
    rows = [
        f'{i}, {"Male" if i % 2 else "Female"} ,"${1000 + 37 * i:,}", {i % 7} ,'
        f"{i / 3:.2f},{i},{i},{'yes' if i % 3 else 'no'}"
        for i in range(60)
    ]
    source = tmp_path / "people.csv"
    source.write_text(" id , sex ,spend, visits ,,n,n,y\n" + "\n".join(rows) + "\n")
    args = [
        "--root", str(tmp_path), "from-csv", "--epic-id", "people", "--csv",
        str(source), "--target", "y", "--problem-type", "binary_classification",
    ]  # fmt: skip
    assert cli.main(args) == 0
    out = capsys.readouterr().out
    assert "` id ` to `id`" in out and "`` to `column_5`" in out
    assert "the later one(s) are `n_duplicated_0`" in out
    assert "Read as numbers" in out and "`spend`, `visits`" in out
    assert "Spaces around the text values of `sex` were removed" in out
    train = pl.read_csv(
        tmp_path / "data/4_processed/people/features/train_features.csv"
    )
    assert train.schema["spend"] == pl.Int64 and train.schema["visits"] == pl.Int64
    assert set(train["sex"]) == {"Male", "Female"}
    assert train["spend"].min() >= 1000
    doc = tmp_path / "data/4_processed/people/features/feature_documentation.md"
    assert "Read as numbers" in doc.read_text()

    latin = tmp_path / "latin.csv"
    latin.write_bytes("x,caté,y\n1,é,yes\n".encode("latin-1"))
    args[args.index(str(source))] = str(latin)
    assert cli.main([*args, "--force"]) == 1
    assert "is not UTF-8 text" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("labels", "problem_type", "message"),
    [
        (["only"], "binary_classification", "every row holds 'only'"),
        (["a", "b", "c"], "binary_classification", "3 classes ('a', 'b', 'c')"),
        (["only"], "multiclass_classification", "needs at least two classes"),
    ],
)
def test_from_csv_refuses_a_target_a_classifier_cannot_learn(
    tmp_path, capsys, labels, problem_type, message
):
    source = tmp_path / "one.csv"
    pl.DataFrame(
        {"x": list(range(60)), "y": [labels[i % len(labels)] for i in range(60)]}
    ).write_csv(source)
    args = [
        "--root", str(tmp_path), "from-csv", "--epic-id", "one", "--csv", str(source),
        "--target", "y", "--problem-type", problem_type,
    ]  # fmt: skip
    assert cli.main(args) == 1
    err = capsys.readouterr().err
    assert f"{source}, column 'y': " in err and message in err
    assert not (tmp_path / "data").exists()  # nothing half-written


def test_from_csv_asks_for_no_more_group_folds_than_train_has_groups(tmp_path, capsys):
    import yaml

    source = tmp_path / "sites.csv"
    make_frame(210).with_columns((pl.col("row_id") % 7).alias("site")).write_csv(source)
    args = from_csv_args(tmp_path, 210, "label", "--group-column", "site")
    args[args.index("--csv") + 1] = str(source)
    assert cli.main(args) == 0
    features = tmp_path / "data/4_processed/loans/features"
    groups = pl.read_csv(features / "train_features.csv")["site"].n_unique()
    assert groups < 5  # seven sites: train holds four or so
    spec = yaml.safe_load(
        (tmp_path / "docs/objectives/user_stories/loans/modeling_spec.yml").read_text()
    )
    assert spec["cross_validation"]["n_splits"] == groups
    assert f"train holds {groups} groups of `site`" in capsys.readouterr().out


@pytest.mark.parametrize("method", ["interpolate", "ffill"])
def test_from_csv_fills_the_gaps_of_each_series_when_asked(tmp_path, capsys, method):
    """Missing days and empty values stop a forecast at data validation;
    --fill-gaps adds the days of each series and fills them, and says how many."""
    import yaml

    days = pl.date_range(pl.date(2024, 1, 1), pl.date(2024, 4, 29), eager=True)
    rows = pl.DataFrame(
        {
            "day": pl.concat([days, days]).dt.strftime("%Y-%m-%d"),
            "store": ["north"] * len(days) + ["south"] * len(days),
            "units": [float(i % 7) for i in range(2 * len(days))],
        }
    ).with_row_index()
    gappy = rows.filter(~pl.col("index").is_in([10, 11, 12, 150])).with_columns(
        pl.when(pl.col("index") == 40).then(None).otherwise("units").alias("units")
    )
    source = tmp_path / "sales.csv"
    gappy.drop("index").write_csv(source)
    args = [
        "--root", str(tmp_path), "from-csv", "--epic-id", "sales", "--csv", str(source),
        "--target", "units", "--problem-type", "time_series", "--time-column", "day",
        "--frequency", "D", "--horizon", "7", "--series-column", "store",
    ]  # fmt: skip
    assert cli.main(args) == 1
    assert "--fill-gaps interpolate" in capsys.readouterr().err  # the empty value
    assert cli.main([*args, "--fill-gaps", method]) == 0
    out = capsys.readouterr().out
    assert "4 missing period(s) added and 1 empty `units` value(s) filled" in out
    assert "the longest run of filled periods is 3, from 2024-01-11 in north" in out
    features = tmp_path / "data/4_processed/sales/features"
    frames = [
        pl.read_csv(features / f"{s}_features.csv")
        for s in ("train", "validation", "test")
    ]
    full = pl.concat(frames)
    assert full.height == rows.height and full["units"].null_count() == 0
    north = full.filter(pl.col("store") == "north").sort("day")
    # days 10-12 lie between 2 (day 9) and 6 (day 13)
    expected = [3.0, 4.0, 5.0] if method == "interpolate" else [2.0, 2.0, 2.0]
    assert north["units"][10:13].to_list() == expected
    spec = yaml.safe_load(
        (tmp_path / "docs/objectives/user_stories/sales/modeling_spec.yml").read_text()
    )
    assert spec["frequency"] == "D"
    assert (
        "Filled values are guesses"
        in (features / "feature_documentation.md").read_text()
    )


def test_from_csv_keeps_an_ignored_column_out_of_the_features(tmp_path):
    import yaml

    from model_training.lib.core.plan import build_plan
    from model_training.lib.core.schema import FeatureSchema
    from model_training.lib.core.spec import ModelingSpec

    args = from_csv_args(tmp_path, 200, "label", "--ignore-column", "amount")
    assert cli.main(args) == 0
    features = tmp_path / "data/4_processed/loans/features"
    schema = yaml.safe_load((features / "feature_schema.yml").read_text())
    assert {c["name"]: c["role"] for c in schema["columns"]}["amount"] == "ignore"
    spec = yaml.safe_load(
        (tmp_path / "docs/objectives/user_stories/loans/modeling_spec.yml").read_text()
    )
    train = pl.read_csv(features / "train_features.csv")
    assert "amount" in train.columns  # kept in the files
    plan = build_plan(
        ModelingSpec.model_validate(spec), FeatureSchema.model_validate(schema), train
    )
    assert "amount" not in plan.numeric_features + plan.categorical_features
    assert plan.numeric_features  # the other features stay
    missing = from_csv_args(tmp_path, 200, "label", "--ignore-column", "nope")
    assert cli.main([*missing, "--force"]) == 1


def test_from_csv_writes_times_in_one_iso_form_and_refuses_ambiguous_ones(
    tmp_path, capsys
):
    """A month written 2021-01 stopped data validation with a bare polars
    ComputeError; 05/01/2021 (day and month in an unknown order) would have
    been split as text. The first is written 2021-01-01 (and said); the
    second stops the build with its lines and the fix."""
    months = [f"{2021 + m // 12}-{m % 12 + 1:02d}" for m in range(36)]
    source = tmp_path / "visits.csv"
    pl.DataFrame(
        {"month": months, "visitors": [float(i) for i in range(36)]}
    ).write_csv(source)
    args = [
        "--root", str(tmp_path), "from-csv", "--epic-id", "visits", "--csv", str(source),
        "--target", "visitors", "--problem-type", "time_series", "--time-column",
        "month", "--frequency", "MS", "--horizon", "3",
    ]  # fmt: skip
    assert cli.main(args) == 0
    assert "36 time(s) rewritten in one ISO 8601 form ('2021-01' as '2021-01-01')" in (
        capsys.readouterr().out
    )
    features = tmp_path / "data/4_processed/visits/features"
    train = pl.read_csv(features / "train_features.csv", try_parse_dates=False)
    assert train["month"][0] == "2021-01-01"
    validation = pl.read_csv(features / "validation_features.csv")
    assert str(train["month"].max()) < str(validation["month"].min())
    slashed = [f"{d:02d}/01/2021" for d in range(1, 31)]
    pl.DataFrame({"day": slashed, "visitors": [1.0] * 30}).write_csv(source)
    args[args.index("month")] = "day"
    assert cli.main([*args, "--force"]) == 1
    err = capsys.readouterr().err
    assert "column 'day': 30 value(s) not an ISO 8601 time (line 2: '01/01/2021'" in err
    assert "Fix: write times as YYYY-MM-DD" in err
