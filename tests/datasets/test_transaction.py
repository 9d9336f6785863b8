"""A run's outputs appear together or not at all (datasets/transaction.py)."""

from __future__ import annotations

import polars as pl
import pytest
from kedro.io import DatasetError
from matplotlib.figure import Figure

from model_training.datasets import (
    CSVTableDataset,
    FigureDirectoryDataset,
    ReportJSONDataset,
    transaction,
)


@pytest.fixture
def run():
    yield transaction.begin("epic", "r1")
    transaction.end()


def test_staged_outputs_are_read_back_and_promoted_on_commit(tmp_path, run):
    report = ReportJSONDataset(filepath=str(tmp_path / "m" / "a.json"))
    report.save({"v": 1})
    assert not (tmp_path / "m" / "a.json").exists()  # not in place yet
    assert report.load() == {"v": 1}  # later nodes of the run see it
    figures = FigureDirectoryDataset(filepath=str(tmp_path / "fig"))
    figures.save({"one": Figure()})
    assert set(figures.load()) == {"one"}
    run.commit()
    assert ReportJSONDataset(filepath=str(tmp_path / "m" / "a.json")).load() == {"v": 1}
    assert (tmp_path / "fig" / "one.png").is_file()
    assert not list(tmp_path.rglob(".staged-*"))


def test_abort_leaves_the_previous_outputs_exactly(tmp_path, run):
    path = tmp_path / "a.json"
    path.write_text('{"v": 0}\n')
    (tmp_path / "fig").mkdir()
    (tmp_path / "fig" / "old.png").write_bytes(b"png")
    ReportJSONDataset(filepath=str(path)).save({"v": 1})
    FigureDirectoryDataset(filepath=str(tmp_path / "fig")).save({"new": Figure()})
    run.abort()
    assert path.read_text() == '{"v": 0}\n'
    assert [p.name for p in (tmp_path / "fig").iterdir()] == ["old.png"]
    assert not list(tmp_path.rglob(".staged-*"))


def test_a_figure_folder_shows_one_run_and_a_package_folder_keeps_versions(
    tmp_path, run
):
    (tmp_path / "fig").mkdir()
    (tmp_path / "fig" / "stale.png").write_bytes(b"png")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "model_v1.joblib").write_bytes(b"v1")
    FigureDirectoryDataset(filepath=str(tmp_path / "fig")).save({"fresh": Figure()})
    (transaction.write_path(tmp_path / "pkg", "merge") / "model_v2.joblib").write_bytes(
        b"v2"
    )
    run.commit()
    assert [p.name for p in (tmp_path / "fig").iterdir()] == ["fresh.png"]
    assert sorted(p.name for p in (tmp_path / "pkg").iterdir()) == [
        "model_v1.joblib",
        "model_v2.joblib",
    ]


def test_an_empty_optional_table_removes_the_old_file_on_commit(tmp_path, run):
    path = tmp_path / "shap_values.csv"
    path.write_text("test_row,a\n0,1.0\n")
    table = CSVTableDataset(filepath=str(path), optional=True)
    table.save(pl.DataFrame({"test_row": pl.Series([], dtype=pl.Int64)}))
    assert table.load().height == 0  # this run has none
    assert path.exists()  # until the run succeeds
    run.commit()
    assert not path.exists()


def test_without_a_run_writes_go_straight_to_their_place(tmp_path):
    assert transaction.current() is None
    ReportJSONDataset(filepath=str(tmp_path / "a.json")).save({"v": 2})
    assert (tmp_path / "a.json").is_file()


def test_stale_staging_of_a_killed_run_is_removed(tmp_path):
    (tmp_path / ".staged-epic-old").mkdir()
    (tmp_path / ".staged-other-old").mkdir()  # another epic's: left alone
    assert transaction.remove_stale({tmp_path}, "epic") == 1
    assert [p.name for p in tmp_path.iterdir()] == [".staged-other-old"]


def test_an_abort_sweeps_the_run_folders_for_staging_it_did_not_record(tmp_path):
    """A stop can land between a staging folder's creation and the write that
    records it; the abort still removes it (the run's output folders are
    swept for its prefix), and leaves other runs' folders alone."""
    folder = tmp_path / "results"
    run = transaction.begin("epic", "r1", {folder})
    try:
        orphan = folder / run.prefix / "half.json"
        orphan.parent.mkdir(parents=True)
        orphan.write_text("{}")
        other = folder / ".staged-epic-r0"
        other.mkdir()
        run.abort()
    finally:
        transaction.end()
    assert not (folder / run.prefix).exists()
    assert other.exists()


@pytest.fixture
def stopped_state():
    yield
    transaction._STATE["stopped"] = None
    transaction.end()


def test_after_a_stop_writes_are_refused_and_the_staging_is_swept_again(
    tmp_path, stopped_state
):
    """A stop the running code swallowed: once the run is aborted, a save would
    go straight to its final place; it is refused, and staging a write under
    way at the abort re-made is removed before the process ends."""
    folder = tmp_path / "results"
    (folder).mkdir()
    (folder / "a.json").write_text('{"v": 0}\n')
    run = transaction.begin("epic", "r1", {folder})
    ReportJSONDataset(filepath=str(folder / "a.json")).save({"v": 1})
    run.abort()
    transaction.end(stopped=True)
    with pytest.raises(
        DatasetError, match=r"b\.json: not written, the run was stopped"
    ):
        ReportJSONDataset(filepath=str(folder / "b.json")).save({"v": 2})
    with pytest.raises(transaction.RunStopped):
        transaction.remove(folder / "a.json")
    late = folder / run.prefix / "late.json"
    late.parent.mkdir()
    late.write_text("{}")
    transaction.sweep_stopped()
    assert sorted(p.name for p in folder.iterdir()) == ["a.json"]
    assert (folder / "a.json").read_text() == '{"v": 0}\n'
