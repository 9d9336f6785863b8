"""Benchmark: the example epics of every problem type with their real budgets.

Builds each example epic in a temporary copy of the project, runs the whole
stage (`kedro run --params epic_id=<epic>`, base settings, not `--env test`) as a
user would, and records wall time, peak memory, the final model, its test
metrics and the best baseline (for forecasts: every baseline refitted and
scored on the same test blocks). Results go to ``bench/results/examples.json``
and a table on stdout.

Usage::

    uv run python bench/examples.py [--only iris,co2]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = {
    # epic: (builder arguments, primary metric)
    "iris": (["sklearn", "iris"], "silhouette"),
    "breast_cancer_anomaly": (["sklearn", "breast_cancer_anomaly"], "pr_auc"),
    "co2": (["co2"], "mean_absolute_scaled_error"),
    "diabetes": (["sklearn", "diabetes"], "root_mean_squared_error"),
    "wine": (["sklearn", "wine"], "f1_macro"),
}


def copy_project(target: Path) -> None:
    for name in ("conf", "docs", "data/1_raw", "data/4_processed", "src"):
        shutil.copytree(
            ROOT / name, target / name, ignore=shutil.ignore_patterns("__pycache__")
        )
    for name in ("pyproject.toml", ".telemetry"):
        shutil.copy2(ROOT / name, target / name)


def run(project: Path, epic: str) -> tuple[float, float, int]:
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "1"}
    env = {k: v for k, v in env.items() if not k.startswith("MLFLOW_")}
    kedro = Path(sys.executable).parent / "kedro"
    start = time.perf_counter()
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [str(kedro), "run", "--params", f"epic_id={epic}"],
            cwd=project,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        if status != 0:
            log.seek(0)
            sys.stderr.write(log.read().decode()[-4000:])
    return wall, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def summarize(project: Path, epic: str, primary: str) -> dict:
    performance = json.loads(
        (project / f"results/metrics/{epic}_model_performance.json").read_text()
    )
    baselines = json.loads(
        (project / f"results/metrics/{epic}/baselines.json").read_text()
    )
    test = performance["metrics"]["test"]
    row = {
        "final_model": performance["final_model"]["model"],
        "params": performance["final_model"]["params"],
        "test": {k: v for k, v in test.items() if isinstance(v, float)},
        "test_ci": performance["metrics"]["test_confidence_intervals"].get(primary),
        "best_baseline_validation": baselines["best"],
    }
    if performance.get("baselines_on_test"):
        row["baselines_on_test"] = {
            name: metrics.get(primary)
            for name, metrics in performance["baselines_on_test"].items()
        }
    row["comparison"] = performance["comparison"].get("rationale")
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(EXAMPLES))
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "project"
        copy_project(project)
        for epic in args.only.split(","):
            builder, primary = EXAMPLES[epic]
            from model_training.epics.cli import main as epic_main

            epic_main(["--root", str(project), *builder, "--force"])
            wall, peak, code = run(project, epic)
            row = {"wall_s": round(wall, 1), "peak_mib": round(peak), "exit": code}
            if code == 0:
                row.update(summarize(project, epic, primary))
            results[epic] = row
            value = row.get("test", {}).get(primary, float("nan"))
            print(
                f"{epic:24s} {wall:7.1f} s {peak:6.0f} MiB  {row.get('final_model', '-'):22s}"
                f" test {primary} {value:.4f}"
            )
    out = ROOT / "bench" / "results" / "examples.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    return 0 if all(r["exit"] == 0 for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
