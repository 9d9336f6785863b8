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


MODULE_LINES = 400


def test_no_module_is_too_long_to_hold_in_ones_head():
    """Every source module stays at most ~400 lines: a module that grows past
    it is split by what its parts do (for example training/protocol.py out of
    training/selection.py)."""
    long = [
        f"{path.relative_to(PROJECT_ROOT)}: {n} lines"
        for path in sorted((PROJECT_ROOT / "src/model_training").rglob("*.py"))
        if (n := len(path.read_text().splitlines())) > MODULE_LINES
    ]
    assert long == []


def _problem_type_branches(source: str) -> list[int]:
    """Lines that decide by a problem type's (or algorithm family's) name: a
    comparison naming one, or with ``problem_type``/``.task`` on either side,
    or a lookup table keyed by two or more of them."""
    import ast

    from model_training.lib.core.kinds import KINDS

    names = set(KINDS) | {k.family for k in KINDS.values()}
    names.discard("time_series")  # also a CV strategy's name; caught below

    def mentions_name(node: ast.AST) -> bool:
        return any(
            isinstance(n, ast.Constant) and n.value in names for n in ast.walk(node)
        )

    def outside_calls(node: ast.AST):
        # a call's arguments are looked up, not compared: kind(spec.problem_type)
        yield node
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, ast.Call):
                yield from outside_calls(child)

    def mentions_type(node: ast.AST) -> bool:
        return any(
            (isinstance(n, ast.Attribute) and n.attr in ("problem_type", "task"))
            or (isinstance(n, ast.Name) and n.id in ("problem_type", "task"))
            or (
                isinstance(n, ast.Constant)
                and n.value == "time_series"
                and "cv_strategy" not in ast.unparse(node)
                and "strategy" not in ast.unparse(node)
            )
            for n in outside_calls(node)
        )

    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare) and (
            mentions_name(node) or mentions_type(node)
        ):
            lines.append(node.lineno)
        if isinstance(node, ast.Dict):
            keyed = [
                k for k in node.keys if isinstance(k, ast.Constant) and k.value in KINDS
            ]
            if len(keyed) >= 2:
                lines.append(node.lineno)
    return lines


def test_no_problem_type_branch_outside_problems():
    """What differs between problem types lives in lib/problems/ (behaviour) and
    lib/core/kinds.py (traits): nothing else decides by a problem type's name."""
    src = PROJECT_ROOT / "src/model_training"
    # the traits table, and the algorithm table (keyed by algorithm family)
    allowed = {src / "lib/core/kinds.py", src / "lib/algorithms/registry.py"}
    found = []
    for path in sorted(src.rglob("*.py")):
        if "problems" in path.relative_to(src).parts[:2] or path in allowed:
            continue
        found += [
            f"{path.relative_to(src)}:{line}"
            for line in _problem_type_branches(path.read_text())
        ]
    assert found == []


def test_the_branch_finder_finds_branches():
    """The check above can fail: it sees each way of branching on a type."""
    assert _problem_type_branches('if spec.problem_type == "regression":\n    pass')
    assert _problem_type_branches('x = kind in ("clustering", "regression")')
    assert _problem_type_branches("ok = algo.task != FAMILY")
    assert _problem_type_branches('t = {"regression": 1, "clustering": 2}[p]')
    assert not _problem_type_branches('ok = plan.cv_strategy == "time_series"')
    assert not _problem_type_branches("ok = spec.kind.classification")
    assert not _problem_type_branches('ok = kind(spec.problem_type).target == "label"')


PRESCRIBED_ROOTS = ("data/", "models/", "results/", "reports/", "docs/")


def test_catalog_contract():
    """Every node input and output is a catalog entry (or matches a dataset
    factory); every path lies under the stage's prescribed folders and follows
    the epic id."""
    import re

    from kedro.framework.project import pipelines
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    bootstrap_project(PROJECT_ROOT)
    with KedroSession.create(
        project_path=PROJECT_ROOT, env="test", runtime_params={"epic_id": "zz_epic"}
    ) as session:
        conf = session.load_context().config_loader["catalog"]
    patterns = {
        name: re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", name) + "$")
        for name in conf
        if isinstance(conf[name], dict)
    }
    unknown, outside, fixed = [], [], []
    for pipeline in pipelines.values():
        for node in pipeline.nodes:
            for name in {*node.inputs, *node.outputs}:
                if name.startswith("params:") or name == "parameters":
                    continue
                if not any(p.match(name) for p in patterns.values()):
                    unknown.append(f"{node.name}: {name}")
    for name, entry in conf.items():
        if not isinstance(entry, dict):
            continue
        path = entry.get("filepath") or entry.get("path")
        if path is None:
            continue
        if not path.startswith(PRESCRIBED_ROOTS):
            outside.append(f"{name}: {path}")
        if "zz_epic" not in path:
            fixed.append(f"{name}: {path}")
    assert sorted(set(unknown)) == []
    assert outside == []
    assert fixed == []


# lib modules whose tests live in another module's suite, and where: each is
# exercised there through the code that calls it
TESTED_WITH = {
    "figures/monitoring.py": "tests/test_e2e_xor.py",
    "stage/monitoring.py": "tests/test_e2e_xor.py",
    "algorithms/algorithm.py": "tests/lib/algorithms/test_registry.py",
    "algorithms/detectors.py": "tests/lib/algorithms/test_unsupervised.py",
    "algorithms/forecasting.py": "tests/lib/algorithms/test_forecasters.py",
    "algorithms/lag_forecaster.py": "tests/lib/algorithms/test_forecasters.py",
    "algorithms/statsforecast_forecaster.py": "tests/lib/algorithms/test_forecasters.py",
    "algorithms/per_series.py": "tests/lib/algorithms/test_forecasters.py",
    "problems/walk_forward.py": "tests/lib/algorithms/test_forecasters.py",
    "algorithms/input_cells.py": "tests/lib/algorithms/test_feature_transform.py",
    "assessment/comparison.py": "tests/pipelines/evaluation/test_pipeline.py",
    "assessment/explain.py": "tests/pipelines/evaluation/test_pipeline.py",
    "core/profiling.py": "tests/lib/training/test_candidates.py",
    "core/labels.py": "tests/lib/assessment/test_resampled.py",
    "data_quality/context.py": "tests/lib/data_quality/test_checks.py",
    "figures/base.py": "tests/pipelines/evaluation/test_pipeline.py",
    "figures/classification.py": "tests/pipelines/evaluation/test_pipeline.py",
    "figures/regression.py": "tests/pipelines/evaluation/test_pipeline.py",
    "figures/explanation.py": "tests/pipelines/evaluation/test_pipeline.py",
    "figures/data.py": "tests/pipelines/data_validation/test_nodes.py",
    "figures/clustering.py": "tests/test_e2e_examples.py",
    "figures/anomaly.py": "tests/test_e2e_examples.py",
    "figures/forecast.py": "tests/test_e2e_examples.py",
    "reporting/model_card.py": "tests/test_e2e_xor.py",
    "stage/data_validation.py": "tests/pipelines/data_validation/test_nodes.py",
    "stage/evaluation.py": "tests/pipelines/evaluation/test_pipeline.py",
    "stage/explanation.py": "tests/pipelines/evaluation/test_pipeline.py",
    "stage/assessments.py": "tests/pipelines/evaluation/test_pipeline.py",
    "stage/performance.py": "tests/pipelines/evaluation/test_pipeline.py",
    "stage/reporting.py": "tests/pipelines/reporting/test_nodes.py",
    "stage/inference.py": "tests/test_e2e_xor.py",
    "training/objective.py": "tests/lib/training/test_tuning.py",
    "training/final_fit.py": "tests/pipelines/tuning/test_pipeline.py",
}


def test_tests_mirror_the_library():
    """Every lib module has tests/lib/<folder>/test_<module>.py, or is named in
    TESTED_WITH with the suite that exercises it (which must exist)."""
    lib = PROJECT_ROOT / "src/model_training/lib"
    missing = []
    for path in sorted(lib.rglob("*.py")):
        if path.name == "__init__.py":
            continue
        rel = path.relative_to(lib)
        mirror = PROJECT_ROOT / "tests/lib" / rel.parent / f"test_{rel.name}"
        covered = TESTED_WITH.get(rel.as_posix())
        if not mirror.exists() and not (covered and (PROJECT_ROOT / covered).exists()):
            missing.append(rel.as_posix())
    assert missing == []
    stale = [m for m in TESTED_WITH if not (lib / m).exists()]
    assert stale == []
