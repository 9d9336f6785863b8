"""Benchmark: wall time and peak memory of `kedro run` per pipeline, as whole processes.

Each pipeline is run as its own `kedro run --pipelines <name>` process (what a user
waits for, start-up included), `--repeats` times after one warm-up run of the whole
default pipeline. Peak memory is the process's maximum resident set size (from
``wait4``). Results go to ``bench/results/pipelines.json`` and a table on stdout.

Usage::

    uv run python bench/run_pipelines.py [--epic credit_risk] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PIPELINES = ["data_validation", "baseline", "__default__"]


def run_once(args: list[str]) -> tuple[float, float]:
    """Run one command; return wall seconds and peak RSS in MiB."""
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "1"}
    start = time.perf_counter()
    process = subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    stderr = process.stderr.read().decode() if process.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{stderr[-2000:]}")
    return wall, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epic", default="credit_risk")
    parser.add_argument("--repeats", type=int, default=3)
    options = parser.parse_args()
    kedro = str(Path(sys.executable).parent / "kedro")
    base = [kedro, "run", "--params", f"epic_id={options.epic}"]
    run_once(base)  # warm-up: page cache, bytecode, MLflow schema
    results = {}
    for name in PIPELINES:
        args = base if name == "__default__" else [*base, "--pipelines", name]
        samples = [run_once(args) for _ in range(options.repeats)]
        walls = [w for w, _ in samples]
        results[name] = {
            "wall_s_median": round(statistics.median(walls), 2),
            "wall_s_min": round(min(walls), 2),
            "wall_s_max": round(max(walls), 2),
            "peak_rss_mib": round(max(m for _, m in samples), 1),
            "repeats": options.repeats,
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
    print(f"{'pipeline':<34} {'median s':>9} {'min s':>7} {'max s':>7} {'peak MiB':>9}")
    for name, r in results.items():
        print(
            f"{name:<34} {r['wall_s_median']:>9} {r.get('wall_s_min', ''):>7} "
            f"{r.get('wall_s_max', ''):>7} {r.get('peak_rss_mib', ''):>9}"
        )
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
