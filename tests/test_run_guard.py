"""The run guard's argument checks, in process (the command-line messages
they end in are tested end to end in test_e2e_guarded.py)."""

from __future__ import annotations

import pytest
from kedro.io import DatasetError

from model_training.lib.core.errors import InputError
from model_training.run_guard import check_epic_id, check_seed


@pytest.mark.parametrize(
    "value", ["../../../x", "a/b", "", None, True, "x" * 65, "a b"]
)
def test_a_malformed_epic_id_is_refused_with_its_fix(value):
    with pytest.raises(InputError) as caught:
        check_epic_id(value)
    message = caught.value.render()
    shown = "" if value is None else str(value)
    assert f"{shown!r} is not an epic id" in message
    assert "--params epic_id=credit_risk" in message


@pytest.mark.parametrize("value", ["credit_risk", "co2", "A-1_b", "x" * 64])
def test_a_folder_name_is_an_epic_id(value):
    assert check_epic_id(value) == value


def test_a_seed_is_a_whole_number():
    assert check_seed(7) == 7
    assert check_seed("12") == 12
    for bad in ("abc", "1.5", True):
        with pytest.raises(InputError) as caught:
            check_seed(bad)
        assert "the seed must be a whole number" in caught.value.render()


def test_a_pipeline_that_ends_after_a_swallowed_stop_commits_nothing(
    tmp_path, monkeypatch
):
    """SIGTERM landed in code that swallowed it and the pipeline went on to
    the end: its outputs are discarded and the run is recorded KILLED, not
    promoted; later writes of the ending process are refused."""
    from model_training import run_guard
    from model_training.datasets import ReportJSONDataset, transaction

    statuses = []
    monkeypatch.setattr(
        run_guard, "end_mlflow_run", lambda status, run_id=None: statuses.append(status)
    )
    unregistered = []
    monkeypatch.setattr(run_guard.atexit, "unregister", unregistered.append)
    hook = run_guard.RunGuardHook()
    transaction.begin("epic", "r1", {tmp_path})
    try:
        ReportJSONDataset(filepath=str(tmp_path / "a.json")).save({"v": 1})
        hook._signal = 15
        hook.after_pipeline_run()
        assert statuses == ["KILLED"] and hook.outcome == "aborted"
        assert list(tmp_path.iterdir()) == []
        with pytest.raises(DatasetError, match="the run was stopped by a signal"):
            ReportJSONDataset(filepath=str(tmp_path / "a.json")).save({"v": 2})
        hook.on_pipeline_error(RuntimeError("after the stop"))
        assert statuses == ["KILLED", "KILLED"]  # never FAILED after a stop
        # the exit handler stays: the process ends with the signal's code
        assert unregistered == []
        codes = []
        monkeypatch.setattr(run_guard, "_leave", codes.append)
        hook._at_exit()
        assert codes == [128 + 15]
    finally:
        transaction._STATE["stopped"] = None
        transaction.end()
