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
import logging
import sys
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
    import nbformat
    from nbclient import NotebookClient

    source = TEMPLATE if notebook_name == "training" else SINGLE_NODES
    notebook = nbformat.read(root / source, as_version=4)
    for cell in notebook.cells:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            cell.source = f"# parameters (set by model_training.notebook)\nEPIC_ID = {epic!r}\nKEDRO_ENV = {env!r}"
    notebook.cells[0].source = notebook.cells[0].source.replace("{epic}", epic)
    out = root / _output(notebook_name, epic)
    import tempfile

    from jupyter_client.manager import KernelManager

    with tempfile.TemporaryDirectory() as sockets:
        # a local kernel talks over Unix sockets in a private folder, not TCP
        # ports on the machine (ipykernel warns about plain-text TCP)
        kernel = KernelManager(
            kernel_name="python3", transport="ipc", ip=f"{sockets}/kernel"
        )
        client = NotebookClient(
            notebook,
            timeout=timeout,
            km=kernel,
            resources={"metadata": {"path": str(out.parent)}},
        )
        try:
            # given a manager, nbclient would leave the kernel and its client
            # running: stop both here
            client.execute(cleanup_kc=True)
        finally:
            nbformat.write(notebook, out)
            if kernel.has_kernel:
                kernel.shutdown_kernel(now=True)
    return out


class NotebookHook:
    """After a run that evaluated a model (and committed its outputs), execute
    the training notebook from those outputs. A notebook that fails to execute
    is reported (an error naming the failing cell's error and the executed
    copy, which shows it) without failing the finished run."""

    def __init__(self) -> None:
        self.written: Path | None = None
        self.failed: str | None = None
        self._evaluated = False

    @hook_impl
    def before_pipeline_run(self) -> None:
        self.written, self.failed, self._evaluated = None, None, False

    @hook_impl
    def after_dataset_saved(self, dataset_name: str) -> None:
        if dataset_name == "model_performance":
            self._evaluated = True

    @hook_impl
    def on_pipeline_error(
        self, error: Exception, run_params: dict[str, Any], catalog: Any
    ) -> None:
        """A stop after every output was written (an unmet acceptance criterion)
        still gets its notebook."""
        from model_training.lib.core.errors import OutputsKept, find_user_error

        if isinstance(find_user_error(error), OutputsKept):
            self.after_pipeline_run(run_params, catalog)

    @hook_impl
    def after_pipeline_run(self, run_params: dict[str, Any], catalog: Any) -> None:
        if not self._evaluated:
            return
        try:
            wanted = catalog.load("params:reporting").notebook
        except Exception:  # a catalog without reporting parameters
            return
        if not wanted:
            return
        root = Path(run_params.get("project_path") or Path.cwd())
        epic = catalog.load("params:epic_id")
        if not (root / TEMPLATE).is_file():
            self.failed = f"{TEMPLATE} is missing"
            logger.error("The training notebook was not executed: %s", self.failed)
            return
        from nbclient.exceptions import CellExecutionError

        logger.info("Executing the training notebook for %s...", epic)
        started = time.monotonic()
        try:
            self.written = execute(root, epic, run_params.get("env"))
        except CellExecutionError as exc:
            self.failed = str(exc).strip().splitlines()[-1][:300]
            self.written = root / _output("training", epic)
            logger.error(
                "The training notebook failed: %s (the executed copy %s shows the "
                "error; the run's outputs are complete)",
                self.failed,
                _output("training", epic),
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
