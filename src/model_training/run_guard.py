"""What keeps a run safe and its record true: checked parameters, one run per
epic, staged outputs, and MLflow runs that end with the status they earned.

:class:`RunGuardHook`:

* checks ``epic_id``, ``seed``, that catalog paths stay inside the project and
  that the study storage answers (if the run tunes), before any output exists;
* takes a lock per epic, so a second ``kedro run`` of the same epic stops with
  a message naming the run in progress instead of mixing outputs with it;
* stages every output of the run (:mod:`model_training.datasets.transaction`)
  and promotes them together when the pipeline succeeds, or discards them when
  it fails or the process is stopped (SIGTERM, Ctrl-C): the previous run's
  outputs then stay exactly as they were;
* marks the MLflow run FAILED (an error) or KILLED (a signal), and, since it
  holds the epic's lock, marks runs of this epic left RUNNING by a process that
  was killed outright as KILLED.
"""

from __future__ import annotations

import atexit
import fcntl
import json
import logging
import os
import re
import signal
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from kedro.framework.hooks import hook_impl

from model_training.datasets import transaction
from model_training.lib.core.errors import (
    InputError,
    OutputsKept,
    Problem,
    UserFacingError,
    find_user_error,
)
from model_training.lib.core.params import check_groups
from model_training.mlflow_record import (
    active_run_id,
    end_mlflow_run,
    mark_abandoned_runs,
)

logger = logging.getLogger(__name__)

EPIC_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
LOCK_FOLDER = ".runs"


class RunInProgressError(UserFacingError):
    """Another run of the same epic holds its lock."""


def check_epic_id(value: Any, where: str = "--params epic_id") -> str:
    """``value`` when it is a valid epic id; else an :class:`InputError`."""
    text = "" if value is None else str(value)
    if not EPIC_ID.match(text) or isinstance(value, bool):
        raise InputError(
            "Invalid epic id",
            [
                Problem(
                    where,
                    f"{text!r} is not an epic id: it may hold only letters, digits, "
                    "'_' and '-' (1 to 64 of them); it names folders, so a path such "
                    "as '../x' is refused",
                    "use the name of a folder under data/4_processed/, e.g. "
                    "`--params epic_id=credit_risk`",
                )
            ],
        )
    return text


def check_seed(value: Any, where: str = "--params seed") -> int:
    """``value`` as an int when it is a whole number; else an :class:`InputError`."""
    if isinstance(value, bool) or not isinstance(value, int):
        text = str(value)
        if not re.fullmatch(r"-?\d+", text.strip()):
            raise InputError(
                "Invalid seed",
                [
                    Problem(
                        where,
                        f"the seed must be a whole number, got {text!r}",
                        "pass a number, e.g. `--params seed=42`",
                    )
                ],
            )
        return int(text)
    return value


# read-only inputs named on the command line (--params input=...): anywhere
INPUTS_FROM_ANYWHERE = frozenset({"inference_input"})


def check_paths(catalog: Any, root: Path) -> None:
    """Every catalog path resolves inside the project (no ``..`` escapes)."""
    root = root.resolve()
    outside = []
    for name in catalog.keys():
        if name.startswith("params:") or name == "parameters":
            continue
        if name in INPUTS_FROM_ANYWHERE:
            continue
        dataset = catalog.get(name)
        path = getattr(dataset, "local_path", None)
        if path is None:
            path = (getattr(dataset, "_describe", dict)() or {}).get("filepath")
        if path is None:
            continue
        resolved = (root / Path(str(path))).resolve()
        if not resolved.is_relative_to(root):
            outside.append((name, resolved))
    if outside:
        raise InputError(
            "Catalog paths outside the project",
            [
                Problem(
                    f"catalog entry '{name}'",
                    f"resolves to {path}, outside the project {root}",
                    "keep every filepath under the project's folders; check "
                    "epic_id and conf/*/catalog*.yml",
                )
                for name, path in outside
            ],
        )


class EpicLock:
    """An exclusive lock per epic (``.runs/<epic>.lock``), released by the OS
    when the process ends, however it ends."""

    def __init__(self, root: Path, epic: str) -> None:
        self.path = root / LOCK_FOLDER / f"{epic}.lock"
        self.epic = epic
        self._handle: Any = None

    def acquire(self, about: dict[str, Any]) -> None:
        """Take the lock or raise :class:`RunInProgressError` naming the holder."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            try:
                holder = json.loads(handle.read() or "{}")
            except ValueError:
                holder = {}
            handle.close()
            raise RunInProgressError(
                f"Another run of epic '{self.epic}' is in progress (process "
                f"{holder.get('pid', '?')}, started {holder.get('started', '?')}, "
                f"pipelines {holder.get('pipelines', '?')}), and two runs of one epic "
                "would mix their outputs. Wait for it to finish (or stop it), then "
                "run again."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), **about}) + "\n")
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        """Give the lock back."""
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


class RunGuardHook:
    """Parameters checked, one run per epic, all-or-nothing outputs, a true record."""

    def __init__(self) -> None:
        self._lock: EpicLock | None = None
        self._previous_sigterm: Any = None
        self._mlflow_run: str | None = None
        self._signal: int | None = None
        self._aborting = threading.Lock()
        self.outcome = "not started"

    @hook_impl
    def after_context_created(self, context: Any) -> None:
        """Check every parameter group, epic_id and seed as soon as the
        configuration is known (one message for every bad key)."""
        check_groups(context.config_loader["parameters"], context.env)
        where = "(--params or conf/*/globals.yml)"
        check_epic_id(context.params.get("epic_id"), f"epic_id {where}")
        check_seed(context.params.get("seed"), f"seed {where}")

    @hook_impl
    def before_pipeline_run(
        self, run_params: dict[str, Any], pipeline: Any, catalog: Any
    ) -> None:
        """Check paths and storage, take the epic's lock, start staging outputs."""
        root = Path(run_params.get("project_path") or Path.cwd()).resolve()
        try:
            epic = check_epic_id(catalog.load("params:epic_id"))
            check_seed(catalog.load("params:seed"))
            check_paths(catalog, root)
            if any(n.name == "tune_hyperparameters" for n in pipeline.nodes):
                from model_training.lib.training.search import check_storage

                check_storage(catalog.load("params:tuning"))
            self._lock = EpicLock(root, epic)
            self._lock.acquire(
                {
                    "started": time.strftime("%Y-%m-%d %H:%M:%S"),
                    "pipelines": "+".join(
                        sorted(run_params.get("pipeline_names") or ["__default__"])
                    ),
                }
            )
        except Exception:
            self.outcome = "not started"
            end_mlflow_run("FAILED")
            raise
        self._mlflow_run = active_run_id()
        try:
            mark_abandoned_runs(epic)
        except Exception:
            logger.warning("Could not check for abandoned MLflow runs", exc_info=True)
        folders = set()
        for name in catalog.keys():
            path = getattr(catalog.get(name), "local_path", None)
            if path is not None:
                folders.add((root / Path(path)).parent)
        transaction.remove_stale(folders, epic)
        transaction.begin(epic, uuid.uuid4().hex[:12], folders)
        self.outcome = "staging"
        if threading.current_thread() is threading.main_thread():
            # (signal handlers can only be set from the main thread; a run
            # started from another thread keeps the default SIGTERM action)
            self._previous_sigterm = signal.signal(signal.SIGTERM, self._on_signal)
        atexit.register(self._at_exit)

    @hook_impl
    def after_pipeline_run(self) -> None:
        """The pipeline succeeded: promote every staged output (not when a
        signal stopped the run and the code it landed in swallowed the stop)."""
        if self._signal is not None:
            self._abort("KILLED")
            return
        run = transaction.current()
        try:
            if run is not None:
                run.commit()
            self.outcome = "committed"
        except Exception:
            self.outcome = "partial"
            end_mlflow_run("FAILED", self._mlflow_run)
            raise
        finally:
            self._finish()

    @hook_impl
    def on_pipeline_error(self, error: Exception) -> None:
        """The pipeline failed: discard this run's staged outputs (or keep them
        when the stop came after they were all written)."""
        if isinstance(find_user_error(error), OutputsKept):
            self.after_pipeline_run()
            return
        self._abort("FAILED")

    def _abort(self, status: str, wait: float = -1) -> None:
        """Discard the staged outputs and end the MLflow run with ``status``,
        once (the main thread at exit and the stop watchdog may both try)."""
        if not self._aborting.acquire(timeout=wait):
            return
        if self._signal is not None:  # a failure after the stop is the stop's
            status = "KILLED"
        try:
            run = transaction.current()
            if run is not None:
                run.abort()
                self.outcome = "aborted"
            end_mlflow_run(status, self._mlflow_run)
            self._finish()
        finally:
            self._aborting.release()

    def _finish(self) -> None:
        transaction.end(stopped=self._signal is not None)
        if self._lock is not None:
            self._lock.release()
            self._lock = None
        if (
            self._previous_sigterm is not None
            and threading.current_thread() is threading.main_thread()
        ):
            signal.signal(signal.SIGTERM, self._previous_sigterm)
            self._previous_sigterm = None
        if self._signal is None:  # stopped: the process still ends with its code
            atexit.unregister(self._at_exit)

    def _at_exit(self) -> None:
        # the process ends mid-run (Ctrl-C, SIGTERM, sys.exit): runs before
        # MLflow's own exit handler, which would mark the run FINISHED
        if transaction.current() is not None:
            self._abort("KILLED")
        if self._signal is not None:
            transaction.sweep_stopped()
            _leave(128 + self._signal)

    def _on_signal(self, signum: int, _frame: Any) -> None:
        """SIGTERM: unwind with ``SystemExit`` (the exit handler then discards
        the staged outputs and marks the run KILLED), with a watchdog.

        An exception raised from a signal handler lands wherever the main
        thread happens to be, and some places swallow it (a weakref callback or
        ``__del__`` prints "Exception ignored"; CatBoost turns it into a
        ``KeyboardInterrupt`` that a training loop may catch), so the run could
        go on. If the process is still alive after ``STOP_GRACE_S``, the
        watchdog does the clean-up itself and ends it.
        """
        if self._signal is not None:
            return  # already stopping
        self._signal = signum
        logger.error("Stopped by signal %d: this run's outputs are discarded", signum)
        watchdog = threading.Thread(
            target=self._stop_hard, args=(128 + signum,), daemon=True
        )
        watchdog.start()
        raise SystemExit(128 + signum)

    def _stop_hard(self, code: int) -> None:
        time.sleep(STOP_GRACE_S)
        logger.error(
            "The run did not stop within %.0f s of the signal (the stop was "
            "swallowed where it landed): ending it now",
            STOP_GRACE_S,
        )
        try:
            # the record first, then the outputs, then out: the main thread is
            # still running and may stage more files until the process ends
            end_mlflow_run("KILLED", self._mlflow_run)
            self._abort("KILLED", wait=STOP_GRACE_S)
        finally:
            # the main thread's writes are refused from the abort on; one
            # under way then may have staged a file since
            transaction.sweep_stopped()
            _leave(code)


# Seconds a stopped run has to unwind on its own before the watchdog ends it.
STOP_GRACE_S = 15.0


def _leave(code: int) -> None:
    """End the process now, with ``code``, after flushing the logs."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    os._exit(code)
