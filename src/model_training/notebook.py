"""Execute the project's notebooks headlessly for one epic.

A ``kedro run`` that evaluated a model executes the training notebook itself
once its outputs are in place (:class:`NotebookHook`; ``--params
reporting.notebook=false`` leaves it out). By hand:
``uv run python -m model_training.notebook --epic credit_risk [--env test]``
reads ``notebooks/models/model_training_template.ipynb`` (stage step 12), sets
its parameters cell, executes it with nbclient in the project's environment and
writes ``notebooks/models/{epic}_model_training.ipynb``. ``--notebook
single_nodes`` executes ``notebooks/single_nodes.ipynb`` (one node of each
pipeline run on its own from catalog inputs) into
``notebooks/single_nodes.{epic}.executed.ipynb``. Run ``kedro run`` first: the
notebooks read the run's outputs through the Kedro catalog. A failing cell
stops with its error; the executed notebook is still written, for inspection.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import threading
import time
from pathlib import Path
from typing import Any

from kedro.framework.hooks import hook_impl

logger = logging.getLogger(__name__)

TEMPLATE = Path("notebooks/models/model_training_template.ipynb")
SINGLE_NODES = Path("notebooks/single_nodes.ipynb")


def _output(name: str, epic: str) -> Path:
    if name == "training":
        return Path("notebooks/models") / f"{epic}_model_training.ipynb"
    return Path("notebooks") / f"single_nodes.{epic}.executed.ipynb"


def execute(
    root: Path,
    epic: str,
    env: str | None = None,
    timeout: int = 600,
    notebook_name: str = "training",
) -> Path:
    """Execute a notebook for ``epic`` under ``root``; return the executed notebook's path.

    ``notebook_name`` is ``training`` (the model-training template) or
    ``single_nodes``.
    """
    return Execution(root, epic, env, timeout, notebook_name).start().finish()


# cells tagged so run before the run's outputs exist: the kernel's imports and
# the project's loading (``reload_kedro``, about 4 s)
SETUP_TAGS = {"parameters", "setup"}


class Execution:
    """One notebook executed by nbclient in a thread of its own, in two parts:
    ``start`` starts the kernel and runs the leading cells tagged ``setup``
    (or ``parameters``), which read no output of the run; ``finish`` lets
    the other cells run (the run's outputs are then in place), waits for
    them and writes the executed notebook. A run starts it while its last
    nodes evaluate the model, so the kernel's start-up overlaps them.
    ``abandon`` stops the kernel without writing anything."""

    def __init__(
        self,
        root: Path,
        epic: str,
        env: str | None = None,
        timeout: int = 600,
        notebook_name: str = "training",
    ) -> None:
        import nbformat

        source = TEMPLATE if notebook_name == "training" else SINGLE_NODES
        self.notebook = nbformat.read(root / source, as_version=4)
        for cell in self.notebook.cells:
            if "parameters" in cell.get("metadata", {}).get("tags", []):
                cell.source = f"# parameters (set by model_training.notebook)\nEPIC_ID = {epic!r}\nKEDRO_ENV = {env!r}"
        first = self.notebook.cells[0]
        first.source = first.source.replace("{epic}", epic)
        self.epic = epic
        self.out = root / _output(notebook_name, epic)
        self.timeout = timeout
        self.setup_cells = next(
            (
                i
                for i, cell in enumerate(self.notebook.cells)
                if cell.cell_type == "code"
                and not SETUP_TAGS & set(cell.get("metadata", {}).get("tags", []))
            ),
            len(self.notebook.cells),
        )
        self._go = threading.Event()
        self.set_up = threading.Event()  # the setup cells have run
        self._abandoned = False
        self._error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._run, name=f"notebook-{epic}", daemon=True
        )

    def start(self) -> Execution:
        self._thread.start()
        return self

    def finish(self) -> Path:
        """Run the remaining cells; the executed notebook's path. Raises what
        the execution raised (``CellExecutionError`` for a failing cell; the
        executed copy is written all the same)."""
        self._go.set()
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self.out

    def abandon(self) -> None:
        self._abandoned = True
        self._go.set()
        self._thread.join(timeout=60)

    def _run(self) -> None:
        import tempfile

        import nbformat
        from jupyter_client.manager import KernelManager
        from nbclient import NotebookClient

        async def wait_for_outputs(cell: Any, cell_index: int) -> None:
            if cell_index == self.setup_cells:
                self.set_up.set()
                await asyncio.get_running_loop().run_in_executor(None, self._go.wait)
            if self._abandoned:
                raise _Abandoned

        try:
            with tempfile.TemporaryDirectory() as sockets:
                # a local kernel talks over Unix sockets in a private folder,
                # not TCP ports on the machine (ipykernel warns about TCP)
                kernel = KernelManager(
                    kernel_name="python3", transport="ipc", ip=f"{sockets}/kernel"
                )
                client = NotebookClient(
                    self.notebook,
                    timeout=self.timeout,
                    km=kernel,
                    resources={"metadata": {"path": str(self.out.parent)}},
                    on_cell_execute=wait_for_outputs,
                    # every output is in: a graceful shutdown only waited
                    # (about 3 s) for a kernel holding a Kedro session to exit
                    shutdown_kernel="immediate",
                )
                try:
                    # given a manager, nbclient would leave the kernel and its
                    # client running: stop both here
                    client.execute(cleanup_kc=True)
                finally:
                    if not self._abandoned:
                        nbformat.write(self.notebook, self.out)
                    if kernel.has_kernel:
                        kernel.shutdown_kernel(now=True)
        except _Abandoned:
            pass
        except BaseException as exc:  # handed to finish(), in the caller's thread
            self._error = exc


class _Abandoned(Exception):
    """Stops an abandoned execution at its next cell."""


class NotebookHook:
    """After a run that evaluated a model (and committed its outputs), execute
    the training notebook from those outputs. Its kernel starts, and the
    project loads in it, once the final model is saved, while the evaluation
    nodes run. A notebook that fails to execute is reported (an error naming
    the failing cell's error and the executed copy, which shows it) without
    failing the finished run."""

    def __init__(self) -> None:
        self.written: Path | None = None
        self.failed: str | None = None
        self._evaluated = False
        self._run: tuple[dict[str, Any], Any] | None = None
        self._early: Execution | None = None

    @hook_impl
    def before_pipeline_run(
        self,
        run_params: dict[str, Any] | None = None,
        pipeline: Any = None,
        catalog: Any = None,
    ) -> None:
        self._abandon()
        self.written, self.failed, self._evaluated = None, None, False
        evaluates = pipeline is not None and "model_performance" in (
            pipeline.all_outputs()
        )
        self._run = (run_params or {}, catalog) if evaluates else None

    @hook_impl
    def after_dataset_saved(self, dataset_name: str) -> None:
        if dataset_name == "model_performance":
            self._evaluated = True
        if dataset_name == "final_model" and self._run and self._early is None:
            try:
                self._early = self._execution(*self._run)
            except Exception:  # started again at the end, where errors are reported
                logger.debug("The notebook's kernel did not start early", exc_info=True)
            if self._early is not None:
                self._early.start()

    @hook_impl
    def on_pipeline_error(
        self, error: Exception, run_params: dict[str, Any], catalog: Any
    ) -> None:
        """A stop after every output was written (an unmet acceptance criterion)
        still gets its notebook; any other stop, none."""
        from model_training.lib.core.errors import OutputsKept, find_user_error

        if isinstance(find_user_error(error), OutputsKept):
            self.after_pipeline_run(run_params, catalog)
        self._abandon()

    def _abandon(self) -> None:
        if self._early is not None:
            self._early.abandon()
            self._early = None

    def _execution(self, run_params: dict[str, Any], catalog: Any) -> Execution | None:
        """The notebook's execution for this run, not started; None when the
        run's parameters leave it out. Raises when the template is missing."""
        try:
            wanted = catalog.load("params:reporting").notebook
        except Exception:  # a catalog without reporting parameters
            return None
        if not wanted:
            return None
        root = Path(run_params.get("project_path") or Path.cwd())
        if not (root / TEMPLATE).is_file():
            raise FileNotFoundError(f"{TEMPLATE} is missing")
        epic = catalog.load("params:epic_id")
        return Execution(root, epic, run_params.get("env"))

    @hook_impl
    def after_pipeline_run(self, run_params: dict[str, Any], catalog: Any) -> None:
        if not self._evaluated:
            self._abandon()
            return
        execution, self._early = self._early, None
        if execution is None:
            try:
                execution = self._execution(run_params, catalog)
            except FileNotFoundError as exc:
                self.failed = str(exc)
                logger.error("The training notebook was not executed: %s", self.failed)
                return
            if execution is None:
                return
            execution.start()
        from nbclient.exceptions import CellExecutionError

        logger.info("Executing the training notebook for %s...", execution.epic)
        started = time.monotonic()
        try:
            self.written = execution.finish()
        except CellExecutionError as exc:
            self.failed = str(exc).strip().splitlines()[-1][:300]
            self.written = execution.out
            logger.error(
                "The training notebook failed: %s (the executed copy %s shows the "
                "error; the run's outputs are complete)",
                self.failed,
                _output("training", execution.epic),
            )
            return
        except Exception as exc:  # no kernel, unreadable template...
            self.failed = f"{type(exc).__name__}: {exc}"[:300]
            logger.error("The training notebook could not be executed: %s", self.failed)
            return
        logger.info("Training notebook executed in %.0f s", time.monotonic() - started)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m model_training.notebook", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--epic", default="credit_risk")
    parser.add_argument("--env", default=None, help="Kedro environment (e.g. test)")
    parser.add_argument("--root", type=Path, default=Path.cwd())
    parser.add_argument(
        "--notebook",
        choices=("training", "single_nodes"),
        default="training",
        help="which notebook: the training notebook, or single nodes run on their own",
    )
    args = parser.parse_args(argv)
    from nbclient.exceptions import CellExecutionError

    try:
        out = execute(args.root, args.epic, args.env, notebook_name=args.notebook)
    except CellExecutionError as exc:
        sys.stderr.write(
            f"notebook failed; the executed copy shows the error:\n{str(exc)[-2000:]}\n"
        )
        return 1
    sys.stdout.write(f"executed {out}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
