"""Execute the project's notebooks headlessly for one epic.

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
import sys
from pathlib import Path

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
    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(out.parent)}},
    )
    try:
        client.execute()
    finally:
        nbformat.write(notebook, out)
    return out


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
