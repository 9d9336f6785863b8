"""Benchmark: wall time and peak memory of `kedro run` per pipeline, as whole processes.

Each pipeline is run as its own `kedro run --pipelines <name>` process (what a user
waits for, start-up included), `--repeats` times after one warm-up run of the whole
default pipeline; "in-pipeline" is Kedro's own time for the nodes, without start-up.
Peak memory is the process's maximum resident set size (from ``wait4``). The
tuning budget row compares the search's elapsed time with the spec's budget and
the tuned CV score with the untuned default's. Results go to
``bench/results/pipelines.json`` and a table on stdout.

Usage::

    uv run python bench/run_pipelines.py [--epic credit_risk] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PIPELINES = [
    "data_validation",
    "baseline",
    "modeling",
    "tuning",
    "modeling,tuning",
    "__default__",
]
PIPELINE_SECONDS = re.compile(r"completed successfully in ([0-9.]+) sec")


def run_once(args: list[str], epic: str = "") -> tuple[float, float, float | None]:
    """Run one command; return wall seconds, peak RSS in MiB and the pipeline's own seconds.

    The persisted Optuna study is removed first, so every tuning run searches
    from scratch instead of resuming a finished study.
    """
    if epic:
        (ROOT / "data" / "6_models" / epic / "optuna.db").unlink(missing_ok=True)
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "1", "COLUMNS": "400"}
    with tempfile.TemporaryFile() as log:
        start = time.perf_counter()
        process = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        log.seek(0)
        output = log.read().decode(errors="replace")
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{output[-3000:]}")
    found = PIPELINE_SECONDS.search(output)
    return wall, usage.ru_maxrss / 1024, float(found.group(1)) if found else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epic", default="credit_risk")
    parser.add_argument("--repeats", type=int, default=3)
    options = parser.parse_args()
    kedro = str(Path(sys.executable).parent / "kedro")
    base = [kedro, "run", "--params", f"epic_id={options.epic}"]
    run_once(base, options.epic)  # warm-up: page cache, bytecode, MLflow schema
    results = {}
    for name in PIPELINES:
        args = base if name == "__default__" else [*base, "--pipelines", name]
        samples = [run_once(args, options.epic) for _ in range(options.repeats)]
        walls = [w for w, _, _ in samples]
        inner = [p for _, _, p in samples if p is not None]
        results[name] = {
            "wall_s_median": round(statistics.median(walls), 2),
            "wall_s_min": round(min(walls), 2),
            "wall_s_max": round(max(walls), 2),
            "pipeline_s_median": round(statistics.median(inner), 2) if inner else None,
            "peak_rss_mib": round(max(m for _, m, _ in samples), 1),
            "repeats": options.repeats,
        }
    tuning = json.loads(
        (ROOT / "results" / "metrics" / options.epic / "tuning.json").read_text()
    )
    results["tuning budget"] = {
        "budget_s": tuning["search"]["timeout_s"],
        "elapsed_s": tuning["elapsed_s"],
        "models": {
            m["model"]: {
                "trials": m["n_trials"],
                "complete": m["n_complete"],
                "pruned": m["n_pruned"],
                "best_cv": m["metrics"]["cv_mean"],
                "default_cv": m["metrics"]["default_cv_mean"],
            }
            for m in tuning["models"]
        },
    }
    startup = [run_once([kedro, "--version"])[0] for _ in range(options.repeats)]
    results["kedro --version (start-up floor)"] = {
        "wall_s_median": round(statistics.median(startup), 2)
    }
    out = ROOT / "bench" / "results" / "pipelines.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {"epic": options.epic, "cpu_count": os.cpu_count(), "results": results},
            indent=2,
        )
    )
    print(
        f"{'pipeline':<34} {'median s':>9} {'min s':>7} {'max s':>7} {'in-pipeline s':>14} {'peak MiB':>9}"
    )
    for name, r in results.items():
        if "wall_s_median" not in r:
            continue
        print(
            f"{name:<34} {r['wall_s_median']:>9} {r.get('wall_s_min', ''):>7} "
            f"{r.get('wall_s_max', ''):>7} {r.get('pipeline_s_median') or '':>14} {r.get('peak_rss_mib', ''):>9}"
        )
    print("tuning:", json.dumps(results["tuning budget"]))
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
