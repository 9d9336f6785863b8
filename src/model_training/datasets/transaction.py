"""A run's outputs appear together or not at all.

While a ``kedro run`` is in progress, every project dataset writes into a
staging folder beside its final place (``<folder>/.staged-<epic>-<run>/``, on
the same file system, so a read-only or full folder fails at the write, not at
the end) and reads this run's staged file when there is one, so later nodes see
earlier nodes' outputs. When the pipeline succeeds, :meth:`RunTransaction.commit`
moves every staged output into place in one quick pass of renames; when it fails
or the process is killed, the staged files are discarded and the previous run's
outputs stay exactly as they were. Outside a run (a notebook's ``catalog.save``,
a dataset used directly) writes go straight to their final place.

Not staged, on purpose: the Optuna study database (it exists to survive an
interrupted run, so tuning can resume) and MLflow's own store (a failed run is
recorded as FAILED there).
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)

# "stopped": the run a signal stopped; its process is ending, and a write
# now would land in the final place (the staging has ended)
_STATE: dict[str, RunTransaction | None] = {"run": None, "stopped": None}


class RunStopped(RuntimeError):
    """A write after the run was stopped by a signal: refused."""


@dataclass
class _Staged:
    final: Path
    staged: Path
    mode: str  # "file", "mirror" (the folder shows this run only) or "merge"


@dataclass
class RunTransaction:
    """The staged outputs of one run of one epic."""

    epic: str
    run_id: str
    staged: dict[Path, _Staged] = field(default_factory=dict)
    # the output folders of the run's catalog: an abort also sweeps them for
    # this run's staging folders (one made just before a stop landed)
    folders: frozenset[Path] = frozenset()

    @property
    def prefix(self) -> str:
        """The staging folders' name: ``.staged-<epic>-<run>``."""
        return f".staged-{self.epic}-{self.run_id}"

    def _area(self, final: Path) -> Path:
        return final.parent / self.prefix / final.name

    def write_path(self, final: Path, mode: str = "file") -> Path:
        """Where this run writes ``final`` (a file, or a folder for the modes
        ``mirror`` and ``merge``); created empty for folders."""
        final = Path(final)
        staged = self._area(final)
        # recorded before anything exists on disk, so an abort always knows it
        self.staged[final.absolute()] = _Staged(final, staged, mode)
        if mode == "file":
            staged.parent.mkdir(parents=True, exist_ok=True)
        else:
            staged.mkdir(parents=True, exist_ok=True)
        return staged

    def remove(self, final: Path) -> None:
        """Record that this run has no ``final`` (an earlier run's is removed on commit)."""
        final = Path(final)
        self.staged[final.absolute()] = _Staged(final, self._area(final), "delete")

    def read_path(self, final: Path) -> Path:
        """This run's staged copy of ``final`` when it wrote one, else ``final``."""
        entry = self.staged.get(Path(final).absolute())
        if entry is not None and entry.mode == "delete":
            return entry.staged  # does not exist: this run has none
        return entry.staged if entry is not None and entry.staged.exists() else final

    def staged_folder(self, final: Path) -> Path | None:
        """The staged folder of ``final`` (modes mirror and merge), if written."""
        entry = self.staged.get(Path(final).absolute())
        return entry.staged if entry is not None and entry.staged.is_dir() else None

    def commit(self) -> list[Path]:
        """Move every staged output into place; returns the final paths."""
        moved = []
        for entry in self.staged.values():
            if entry.mode == "delete":
                entry.final.unlink(missing_ok=True)
                continue
            if not entry.staged.exists():
                continue
            if entry.mode == "file":
                entry.final.parent.mkdir(parents=True, exist_ok=True)
                os.replace(entry.staged, entry.final)
            else:
                _promote_folder(entry.staged, entry.final, entry.mode == "mirror")
            moved.append(entry.final)
        self._clean()
        return moved

    def abort(self) -> None:
        """Discard every staged output: the final places are untouched."""
        self._clean()

    def _clean(self) -> None:
        areas = {e.staged.parent for e in self.staged.values()}
        areas |= {folder / self.prefix for folder in self.folders}
        for area in areas:
            if area.name == self.prefix:
                shutil.rmtree(area, ignore_errors=True)


def _promote_folder(staged: Path, final: Path, mirror: bool) -> None:
    final.mkdir(parents=True, exist_ok=True)
    names = set()
    for path in sorted(staged.iterdir()):
        os.replace(path, final / path.name)
        names.add(path.name)
    if mirror:  # the folder shows one run: files of earlier runs this one did not write
        for old in final.iterdir():
            if old.is_file() and old.name not in names and not old.name.startswith("."):
                old.unlink()


def begin(epic: str, run_id: str, folders: set[Path] | None = None) -> RunTransaction:
    """Start staging this process's dataset writes (``folders``: the catalog's
    output folders, swept for this run's staging folders on abort)."""
    run = RunTransaction(epic, run_id, folders=frozenset(folders or ()))
    _STATE["run"] = run
    return run


def current() -> RunTransaction | None:
    """The transaction of the run in progress, if any."""
    return _STATE["run"]


def end(stopped: bool = False) -> None:
    """Stop staging (after a commit or an abort). ``stopped``: a signal stopped
    the run and the process is ending, while code the stop landed in may still
    be running (it can swallow the stop): from now on this process's writes
    are refused instead of going straight to their final places."""
    if stopped:
        _STATE["stopped"] = _STATE["run"] or RunTransaction("", "")
    _STATE["run"] = None


def sweep_stopped() -> None:
    """Just before a stopped process ends: remove the stopped run's staging
    again (a write under way when the abort swept it may have made one)."""
    run = _STATE["stopped"]
    if run is not None:
        run.abort()


def _refuse_if_stopped(final: Path) -> None:
    if _STATE["stopped"] is not None:
        raise RunStopped(f"{final}: not written, the run was stopped by a signal")


def remove_stale(folders: set[Path], epic: str) -> int:
    """Remove staging folders an earlier, killed run of ``epic`` left behind.

    Only called while holding the epic's run lock, so none of them is in use.
    """
    removed = 0
    for folder in folders:
        if not folder.is_dir():
            continue
        for area in folder.glob(f".staged-{epic}-*"):
            shutil.rmtree(area, ignore_errors=True)
            removed += 1
    if removed:
        logger.info("Removed %d staging folder(s) of an interrupted run", removed)
    return removed


def write_path(final: Path, mode: str = "file") -> Path:
    """Where to write ``final`` now: staged during a run, else ``final`` itself
    (:class:`RunStopped` once a signal has stopped the run)."""
    _refuse_if_stopped(final)
    run = _STATE["run"]
    if run is None:
        if mode != "file":
            Path(final).mkdir(parents=True, exist_ok=True)
        return Path(final)
    return run.write_path(Path(final), mode)


def read_path(final: Path) -> Path:
    """Where to read ``final`` now: this run's staged copy when it wrote one."""
    run = _STATE["run"]
    return Path(final) if run is None else run.read_path(Path(final))


def remove(final: Path) -> None:
    """This run writes no ``final``: staged as a removal during a run, else now
    (:class:`RunStopped` once a signal has stopped the run)."""
    _refuse_if_stopped(final)
    run = _STATE["run"]
    if run is None:
        Path(final).unlink(missing_ok=True)
    else:
        run.remove(Path(final))
