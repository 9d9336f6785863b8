"""Execute the model-training notebook of an epic headlessly (stage step 12).

``uv run python -m model_training.notebook --epic credit_risk [--env test]``
reads ``notebooks/models/model_training_template.ipynb``, sets its parameters
cell, executes it with nbclient in the project's environment and writes
``notebooks/models/{epic}_model_training.ipynb``. Run ``kedro run`` first: the
notebook reads the run's outputs through the Kedro catalog. A failing cell
stops with its error; the executed notebook is still written, for inspection.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

TEMPLATE = Path("notebooks/models/model_training_template.ipynb")


def execute(root: Path, epic: str, env: str | None = None, timeout: int = 600) -> Path:
    """Execute the template for ``epic`` under ``root``; return the executed notebook's path."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(root / TEMPLATE, as_version=4)
    for cell in notebook.cells:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            cell.source = f"# parameters (set by model_training.notebook)\nEPIC_ID = {epic!r}\nKEDRO_ENV = {env!r}"
    notebook.cells[0].source = notebook.cells[0].source.replace("{epic}", epic)
    out = root / "notebooks" / "models" / f"{epic}_model_training.ipynb"
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
    args = parser.parse_args(argv)
    from nbclient.exceptions import CellExecutionError

    try:
        out = execute(args.root, args.epic, args.env)
    except CellExecutionError as exc:
        sys.stderr.write(
            f"notebook failed; the executed copy shows the error:\n{str(exc)[-2000:]}\n"
        )
        return 1
    sys.stdout.write(f"executed {out}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
