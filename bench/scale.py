"""Scale benchmark: the whole stage on synthetic binary data of growing size.

For each size (default 10,000 and 100,000 rows; add 1,000,000 with ``--rows``)
a binary data set of 50 features (45 numeric, 5 categorical with 4 to 30
levels, 5 % missing cells in a third of the columns) is written as one CSV,
built into an epic with the project's own command (``model-training-epic
from-csv``, split 60/20/20), and the stage runs with base settings in a
temporary copy of the project (``kedro run --params epic_id=...``). Recorded:
wall time, peak RSS (the run's process tree), the time of every node (from a
timestamped log), and the final model's test ROC-AUC. Beside it, on the same
train + validation and test rows, a plain CatBoost and a plain LightGBM are
fitted with their defaults (their fit time is the ratio's denominator).

Results go to ``bench/results/scale.json`` and a Markdown table on stdout.

Usage::

    uv run python bench/scale.py [--rows 10000,100000,1000000] [--timeout-min 40]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from examples import copy_project  # noqa: E402

LOGGING = """\
version: 1
disable_existing_loggers: false
formatters:
  stamped: {format: "%(asctime)s.%(msecs)03d %(name)s %(levelname)s %(message)s", datefmt: "%Y-%m-%d %H:%M:%S"}
handlers:
  file: {class: logging.FileHandler, formatter: stamped, filename: LOGFILE, mode: w}
root: {level: INFO, handlers: [file]}
"""
NODE = re.compile(r"^(\S+ \S+) \S+ INFO Running node: (\w+)")
STAMP = re.compile(r"^(\S+ \S+) ")


def synthetic(rows: int, seed: int) -> pl.DataFrame:
    """50 features, a logistic target with interactions, missing cells."""
    rng = np.random.default_rng(seed)
    numeric = rng.normal(size=(rows, 45))
    levels = [4, 8, 12, 20, 30]
    codes = [rng.integers(0, k, rows) for k in levels]
    effects = [rng.normal(0, 0.6, k) for k in levels]
    logit = (
        numeric[:, :8] @ rng.normal(0, 0.8, 8)
        + 0.8 * numeric[:, 8] * numeric[:, 9]
        + np.sin(2 * numeric[:, 10])
        + sum(e[c] for e, c in zip(effects, codes, strict=True))
        - 1.0
    )
    y = rng.random(rows) < 1 / (1 + np.exp(-logit))
    data: dict[str, Any] = {}
    for j in range(45):
        column = numeric[:, j].copy()
        if j % 3 == 0:
            column[rng.random(rows) < 0.05] = np.nan
        data[f"x{j:02d}"] = column
    for j, (k, c) in enumerate(zip(levels, codes, strict=True)):
        values = np.array([f"c{j}_{v}" for v in range(k)], dtype=object)[c]
        if j % 2 == 0:
            values[rng.random(rows) < 0.05] = None
        data[f"cat{j}"] = values
    data["target"] = np.where(y, "yes", "no")
    return pl.DataFrame(data).with_columns(pl.col(pl.Float64).fill_nan(None))


def node_times(log: Path, end: float) -> dict[str, float]:
    """Seconds per node: from its start line to the next line that starts a
    node (the runner is sequential), the last one to the run's end."""
    starts: list[tuple[str, float]] = []
    for line in log.read_text(errors="replace").splitlines():
        match = NODE.match(line)
        if match:
            stamp = datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S.%f")
            starts.append((match.group(2), stamp.timestamp()))
    out: dict[str, float] = {}
    ends = [stamp for _, stamp in starts[1:]] + [end]
    for (name, begin), after in zip(starts, ends, strict=True):
        out[name] = round(out.get(name, 0.0) + after - begin, 2)
    return out


def run_stage(project: Path, epic: str, timeout_s: float) -> dict[str, Any]:
    log = project / "bench_run.log"
    config = project / "bench_logging.yml"
    config.write_text(LOGGING.replace("LOGFILE", str(log)))
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env |= {"KEDRO_DISABLE_TELEMETRY": "1", "KEDRO_LOGGING_CONFIG": str(config)}
    kedro = Path(sys.executable).parent / "kedro"
    command = [
        "/usr/bin/time",
        "-f",
        "PEAK_RSS_KB %M",
        str(kedro),
        "run",
        "--params",
        f"epic_id={epic},reporting.acceptance.on_unmet=report",
    ]
    start = time.perf_counter()
    try:
        result = subprocess.run(
            command,
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
        code, stderr = result.returncode, result.stderr
    except subprocess.TimeoutExpired as expired:
        code, stderr = "timeout", (expired.stderr or b"").decode(errors="replace")
    wall = time.perf_counter() - start
    peak = re.search(r"PEAK_RSS_KB (\d+)", stderr)
    return {
        "exit": code,
        "wall_s": round(wall, 1),
        "peak_rss_gb": round(int(peak.group(1)) / 2**20, 2) if peak else None,
        "node_s": node_times(log, time.time()) if log.exists() else {},
        "stderr_tail": stderr[-1500:] if code != 0 else "",
    }


def plain_peers(project: Path, epic: str, seed: int) -> dict[str, Any]:
    """Default CatBoost and LightGBM on the epic's own train + validation rows,
    scored on its test rows."""
    from catboost import CatBoostClassifier
    from lightgbm import LGBMClassifier
    from sklearn.metrics import roc_auc_score

    folder = project / "data" / "4_processed" / epic / "features"
    read = lambda name: pl.read_csv(folder / f"{name}_features.csv")  # noqa: E731
    fit = pl.concat([read("train"), read("validation")])
    test = read("test")
    features = [c for c in fit.columns if c != "target"]
    cats = [c for c in features if c.startswith("cat")]
    y_fit, y_test = (
        (fit["target"] == "yes").to_numpy(),
        (test["target"] == "yes").to_numpy(),
    )
    out: dict[str, Any] = {}

    def frame(rows: pl.DataFrame):
        pandas = rows.select(features).to_pandas()
        for c in cats:
            pandas[c] = pandas[c].fillna("__missing__").astype("category")
        return pandas

    x_fit, x_test = frame(fit), frame(test)
    for name, model in (
        (
            "catboost",
            CatBoostClassifier(random_seed=seed, verbose=False, cat_features=cats),
        ),
        ("lightgbm", LGBMClassifier(random_state=seed, verbose=-1)),
    ):
        begin = time.perf_counter()
        if name == "catboost":
            model.fit(x_fit.astype({c: str for c in cats}), y_fit)
            scores = model.predict_proba(x_test.astype({c: str for c in cats}))[:, 1]
        else:
            model.fit(x_fit, y_fit)
            scores = model.predict_proba(x_test)[:, 1]
        out[name] = {
            "fit_s": round(time.perf_counter() - begin, 1),
            "roc_auc": round(float(roc_auc_score(y_test, scores)), 4),
        }
    return out


def final_score(project: Path, epic: str) -> dict[str, Any]:
    path = project / "results" / "metrics" / f"{epic}_model_performance.json"
    if not path.exists():
        return {}
    report = json.loads(path.read_text())
    return {
        "model": report.get("final_model", {}).get("model"),
        "roc_auc": round(report["metrics"]["test"].get("roc_auc", float("nan")), 4),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="10000,100000")
    parser.add_argument("--timeout-min", type=float, default=40)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--keep",
        type=Path,
        help="run in this folder and keep it (outputs, logs) to study single nodes",
    )
    parser.add_argument(
        "--no-plain", action="store_true", help="skip the plain CatBoost/LightGBM fits"
    )
    options = parser.parse_args()
    from model_training.epics.cli import main as epic_main

    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="scale-") as scratch:
        tmp = options.keep or Path(scratch)
        project = Path(tmp) / "project"
        if not project.exists():
            copy_project(project)
        for rows in (int(r) for r in options.rows.split(",")):
            epic = f"scale_{rows}"
            csv = Path(tmp) / f"{epic}.csv"
            synthetic(rows, options.seed).write_csv(csv)
            begin = time.perf_counter()
            epic_main(
                [
                    "--root",
                    str(project),
                    "from-csv",
                    "--epic-id",
                    epic,
                    "--csv",
                    str(csv),
                    "--target",
                    "target",
                    "--problem-type",
                    "binary_classification",
                    "--force",
                ]
            )
            build_s = time.perf_counter() - begin
            stage = run_stage(project, epic, options.timeout_min * 60)
            results[epic] = {
                "rows": rows,
                "features": 50,
                "epic_build_s": round(build_s, 1),
                **stage,
                "final": final_score(project, epic),
                "plain": {}
                if options.no_plain
                else plain_peers(project, epic, options.seed),
            }
            print(json.dumps({epic: results[epic]}, indent=2), flush=True)
    out = ROOT / "bench" / "results" / "scale.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(table(results))
    return 0


def table(results: dict[str, Any]) -> str:
    lines = [
        "| rows | stage wall s | peak RSS GB | slowest nodes (s) | final ROC-AUC | CatBoost fit s / AUC | LightGBM fit s / AUC |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results.values():
        slow = sorted(r["node_s"].items(), key=lambda kv: -kv[1])[:3]
        plain = r["plain"] or {
            peer: {"fit_s": None, "roc_auc": None} for peer in ("catboost", "lightgbm")
        }
        lines.append(
            f"| {r['rows']:,} | {r['wall_s']} ({r['exit']}) | {r['peak_rss_gb']} | "
            + ", ".join(f"{n} {s}" for n, s in slow)
            + f" | {r['final'].get('roc_auc')} ({r['final'].get('model')}) | "
            f"{plain['catboost']['fit_s']} / {plain['catboost']['roc_auc']} | "
            f"{plain['lightgbm']['fit_s']} / {plain['lightgbm']['roc_auc']} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
