"""The layering holds: import contracts (pyproject.toml, [tool.importlinter])."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import PROJECT_ROOT


def test_import_contracts_are_kept():
    """lib/ never imports Kedro, MLflow, pipelines, datasets or hooks; its
    packages import downward only; datasets never reach into pipelines."""
    lint = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run(
        [str(lint), "--no-cache"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_nodes_are_thin_adapters():
    """Every node is a short adapter; what a step does lives in lib/ (stage/,
    training/), where a notebook or a test can call it without Kedro."""
    import ast

    long = []
    for path in sorted(
        (PROJECT_ROOT / "src/model_training/pipelines").rglob("nodes.py")
    ):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                size = node.end_lineno - node.lineno + 1
                if size > 35:
                    long.append(f"{path.parent.name}.{node.name}: {size} lines")
    assert long == []
