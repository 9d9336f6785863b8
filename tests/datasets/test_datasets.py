"""Custom datasets: validated YAML, readable CSV errors, atomic writes."""

from __future__ import annotations

import base64
import json
import math
from pathlib import Path

import polars as pl
import pytest
import yaml
from matplotlib.figure import Figure

from model_training.datasets import (
    FeatureSchemaDataset,
    FeatureSplitDataset,
    FigureDirectoryDataset,
    ModelingSpecDataset,
    ReportJSONDataset,
)
from model_training.lib.core.errors import find_user_error
from tests.conftest import spec_dict


def load_error(dataset) -> str:
    """Load a dataset that must fail with an InputError; return its message."""
    with pytest.raises(Exception) as caught:
        dataset.load()
    error = find_user_error(caught.value)
    assert error is not None, caught.value
    return str(error)


def test_spec_dataset_round_trip(tmp_path):
    path = tmp_path / "modeling_spec.yml"
    path.write_text(yaml.safe_dump(spec_dict()))
    spec = ModelingSpecDataset(filepath=str(path)).load()
    assert spec.target == "label"
    assert spec.source.endswith("modeling_spec.yml")
    copy = tmp_path / "copy.yml"
    ModelingSpecDataset(filepath=str(copy)).save(spec)
    assert ModelingSpecDataset(filepath=str(copy)).load().model_dump(
        exclude={"source"}
    ) == spec.model_dump(exclude={"source"})


def test_spec_dataset_missing_file(tmp_path):
    message = load_error(ModelingSpecDataset(filepath=str(tmp_path / "nope.yml")))
    assert "nope.yml: the file does not exist" in message
    assert "model-training-epic" in message


def test_spec_dataset_invalid_yaml_names_line(tmp_path):
    path = tmp_path / "modeling_spec.yml"
    path.write_text("epic_id: tiny\nproblem_type: [binary\n")
    message = load_error(ModelingSpecDataset(filepath=str(path)))
    assert "modeling_spec.yml, line 3" in message
    assert "not valid YAML" in message


def test_schema_dataset_unknown_key(tmp_path):
    path = tmp_path / "feature_schema.yml"
    path.write_text(
        yaml.safe_dump(
            {"epic_id": "x", "columns": [{"name": "a", "dtype": "int", "kind": "x"}]}
        )
    )
    assert "key 'columns.0.kind': unknown key" in load_error(
        FeatureSchemaDataset(filepath=str(path))
    )


def test_feature_split_missing_and_unreadable(tmp_path):
    missing = FeatureSplitDataset(filepath=str(tmp_path / "train_features.csv"))
    assert "train_features.csv: the file does not exist" in load_error(missing)
    bad = tmp_path / "bad_features.csv"
    bad.write_bytes(b"a,b\n1,2\n\xff\xfe,3,4,5\n")
    assert "line 3: not UTF-8 text: byte 0xff" in load_error(
        FeatureSplitDataset(filepath=str(bad))
    )


def test_feature_split_infers_types_from_whole_file(tmp_path):
    path = tmp_path / "train_features.csv"
    rows = ["code"] + ["1"] * 200 + ["A7"]
    path.write_text("\n".join(rows) + "\n")
    frame = FeatureSplitDataset(filepath=str(path)).load()
    assert frame.schema["code"] == pl.String


def test_report_json_writes_null_for_nan(tmp_path):
    path = tmp_path / "r" / "report.json"
    ReportJSONDataset(filepath=str(path)).save(
        {"a": float("nan"), "b": [1.0, math.inf]}
    )
    assert json.loads(path.read_text()) == {"a": None, "b": [1.0, None]}
    assert not list(path.parent.glob(".*tmp"))


def test_report_json_failure_keeps_previous_file(tmp_path):
    path = tmp_path / "report.json"
    dataset = ReportJSONDataset(filepath=str(path))
    dataset.save({"good": 1})
    with pytest.raises(Exception, match="not JSON serializable"):
        dataset.save({"bad": object()})
    assert json.loads(path.read_text()) == {"good": 1}
    assert not list(tmp_path.glob(".*tmp"))


class _Broken(Figure):
    def savefig(self, *args, **kwargs):
        raise RuntimeError("rendering failed")


def test_figure_directory_is_atomic(tmp_path):
    folder = tmp_path / "figs"
    dataset = FigureDirectoryDataset(filepath=str(folder))
    first = Figure()
    first.add_subplot().plot([1, 2])
    dataset.save({"a": first})
    before = (folder / "a.png").read_bytes()
    replacement = Figure()
    replacement.add_subplot().plot([3, 1])
    with pytest.raises(Exception, match="rendering failed"):
        dataset.save({"a": replacement, "b": _Broken()})
    assert (folder / "a.png").read_bytes() == before
    assert not (folder / "b.png").exists()
    assert [p.name for p in folder.iterdir()] == ["a.png"]
    assert set(dataset.load()) == {"a"}


def test_figure_directory_drops_figures_an_earlier_run_drew(tmp_path):
    dataset = FigureDirectoryDataset(filepath=str(tmp_path / "figs"))
    for name in ("kept", "stale"):
        figure = Figure()
        figure.add_subplot().plot([1, 2])
        dataset.save({name: figure} if name == "stale" else {"kept": figure})
    figure = Figure()
    figure.add_subplot().plot([2, 1])
    dataset.save({"kept": figure})
    assert set(dataset.load()) == {"kept"}


def test_previews_for_kedro_viz(tmp_path):
    split = tmp_path / "train_features.csv"
    pl.DataFrame({"a": range(30), "b": ["x"] * 30}).write_csv(split)
    table = FeatureSplitDataset(filepath=str(split)).preview(nrows=5)
    assert table["columns"] == ["a", "b"] and table["data"][-1] == [4, "x"]
    report = tmp_path / "report.json"
    long = {
        "epic_id": "e",
        "rows": [{"i": i, "deep": {"x": list(range(50))}} for i in range(500)],
    }
    ReportJSONDataset(filepath=str(report)).save(long)
    text = ReportJSONDataset(filepath=str(report)).preview(max_chars=2000)
    assert len(text) <= 2000
    abridged = json.loads(text)
    assert abridged["epic_id"] == "e" and "more" in abridged["rows"][-1]
    figures = FigureDirectoryDataset(filepath=str(tmp_path / "figs"))
    figure = Figure()
    figure.add_subplot().plot([1, 2])
    figures.save({"only": figure})
    assert base64.b64decode(figures.preview()).startswith(b"\x89PNG")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "the file is empty (0 bytes)"),
        (b"a;b;label\n1;2;x\n", "separated by semicolons, not commas"),
        (b"a\tb\tlabel\n1\t2\tx\n", "separated by tabs, not commas"),
        (
            b"a,b,label\n1,2,x\n3,4,y,extra\n",
            "line 3 has 4 fields where the header has 3",
        ),
        (
            "a,b,label\n1,2,x\n3,4,caf\u00e9\n".encode("latin-1"),
            "line 3: not UTF-8 text: byte 0xe9",
        ),
    ],
)
def test_an_unreadable_csv_names_the_cause(tmp_path, content, expected):
    path = tmp_path / "train_features.csv"
    path.write_bytes(content)
    message = load_error(FeatureSplitDataset(filepath=str(path)))
    assert expected in message
    assert "Fix:" in message


def test_a_latin1_spec_names_the_line(tmp_path):
    path = tmp_path / "modeling_spec.yml"
    text = yaml.safe_dump(spec_dict()) + "# mod\u00e8le\n"
    path.write_bytes(text.encode("latin-1"))
    message = load_error(ModelingSpecDataset(filepath=str(path)))
    lines = text.count("\n")
    assert f"modeling_spec.yml, line {lines}: not UTF-8 text: byte 0xe8" in message
    assert "save it as UTF-8" in message


def test_a_header_naming_a_column_twice_is_named(tmp_path):
    path = tmp_path / "train_features.csv"
    path.write_text("a,b,a,label\n1,2,3,x\n")
    message = load_error(FeatureSplitDataset(filepath=str(path)))
    assert "line 1: the header names column 'a' twice (fields 1 and 3)" in message


def test_an_unchanged_feature_file_is_parsed_once(tmp_path, monkeypatch):
    """Nodes that read the same split share one parse; a rewritten file is
    read again."""
    path = tmp_path / "train_features.csv"
    path.write_text("a,b\n1,x\n2,y\n")
    reads = []
    real = pl.read_csv

    def counting(*args, **kwargs):
        reads.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(pl, "read_csv", counting)
    dataset = FeatureSplitDataset(filepath=str(path))
    first = dataset.load()
    assert FeatureSplitDataset(filepath=str(path)).load() is first
    assert len(reads) == 1
    path.write_text("a,b\n1,x\n2,y\n3,z\n")  # rewritten: a new size
    assert dataset.load().height == 3 and len(reads) == 2


def test_the_split_every_node_reads_outlives_files_read_once(tmp_path, monkeypatch):
    """At most a few parses are kept, the least recently used forgotten
    first: the training split, read again between the others, is not parsed
    a second time however many other tables a run reads after it."""
    from model_training.datasets import parsed

    monkeypatch.setattr(parsed, "_PARSED", {})
    reads = []
    real = pl.read_csv

    def counting(*args, **kwargs):
        reads.append(Path(args[0]).name)
        return real(*args, **kwargs)

    monkeypatch.setattr(pl, "read_csv", counting)
    train = tmp_path / "train_features.csv"
    train.write_text("a,b\n1,x\n")
    FeatureSplitDataset(filepath=str(train)).load()
    for i in range(2 * parsed.MAX_FILES):
        other = tmp_path / f"table_{i}.csv"
        other.write_text("a\n1\n")
        FeatureSplitDataset(filepath=str(other)).load()
        FeatureSplitDataset(filepath=str(train)).load()
    assert reads.count("train_features.csv") == 1
    # one read of each of the others, none again: the oldest of them went
    assert len(reads) == 1 + 2 * parsed.MAX_FILES
    assert len(parsed._PARSED) == parsed.MAX_FILES
