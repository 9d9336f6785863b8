"""Benchmark: the saved model package in process.

Loads the newest package of an epic (sha256 checked), then measures single-row
prediction latency (p50/p95/p99 over ``--repeats`` calls on different rows) for
a one-row polars frame, a pandas frame and a dict, beside the bare model inside
the package predicting rows its preprocessing prepared beforehand (the floor
the package's own overhead is measured against); the time to score a
100,000-row batch (validation rows repeated; the median of three calls) beside
the bare model on the same rows prepared beforehand, and the package size. Run
``kedro run`` first. Results go to ``bench/results/package.json``.

Usage::

    uv run python bench/package_latency.py [--epic credit_risk] [--repeats 500] [--rows 100000]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import polars as pl

from model_training.datasets import ModelPackageDataset
from model_training.lib.core.frames import split_xy
from model_training.lib.core.plan import load_plan

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epic", default="credit_risk")
    parser.add_argument("--repeats", type=int, default=500)
    parser.add_argument("--rows", type=int, default=100_000)
    options = parser.parse_args()
    os.chdir(ROOT)
    start = time.perf_counter()
    package = ModelPackageDataset(filepath=f"models/{options.epic}").load()
    load_s = time.perf_counter() - start
    model = package["model"]
    plan = load_plan(
        json.loads(
            Path(f"data/5_model_input/{options.epic}/modeling_plan.json").read_text()
        )
    )
    rows = pl.read_csv(
        f"data/4_processed/{options.epic}/features/validation_features.csv",
        infer_schema_length=None,
    )
    x, _ = split_xy(rows, plan)
    score = model.predict_proba if hasattr(model, "predict_proba") else model.predict
    inputs = {
        "polars": lambda i: x[i : i + 1],
        "pandas": lambda i: x[i : i + 1].to_pandas(),
        "dict": lambda i: x.row(i, named=True),
    }
    single_row_ms = {}
    for form, make in inputs.items():
        rows_in = [make(i % x.height) for i in range(options.repeats)]
        single_row_ms[form] = _percentiles(_timed(score, rows_in))
    bare = _bare_model(model)
    if bare is not None:
        preprocess, final = bare
        prepared = [
            preprocess(x[i % x.height : i % x.height + 1])
            for i in range(options.repeats)
        ]
        bare_score = (
            final.predict_proba if hasattr(final, "predict_proba") else final.predict
        )
        single_row_ms["bare_model"] = _percentiles(_timed(bare_score, prepared))
        single_row_ms["p50_ratio_to_bare_model"] = round(
            single_row_ms["polars"]["p50"] / single_row_ms["bare_model"]["p50"], 2
        )
    batch = pl.concat([x] * (options.rows // x.height + 1)).head(options.rows)
    batch_s = _batch_seconds(score, batch)
    bare_batch = {}
    if bare is not None:  # the bare model on the batch its preprocessing prepared
        bare_batch_s = _batch_seconds(bare_score, preprocess(batch))
        bare_batch = {
            "bare_model_batch_s": round(bare_batch_s, 3),
            "batch_ratio_to_bare_model": round(batch_s / bare_batch_s, 2),
        }
    model_file = (
        Path(package["directory"]) / package["metadata"]["artifacts"]["model"]["file"]
    )
    result = {
        "epic": options.epic,
        "package_version": package["version"],
        "load_with_sha256_check_s": round(load_s, 3),
        "model": type(bare[1] if bare is not None else model).__name__,
        "single_row_ms": single_row_ms,
        "batch_rows": options.rows,
        "batch_s": round(batch_s, 3),
        "batch_rows_per_s": round(options.rows / batch_s),
        **bare_batch,
        "package_mb": round(model_file.stat().st_size / 2**20, 3),
    }
    out = ROOT / "bench" / "results" / "package.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


def _timed(score, inputs: list) -> list[float]:
    score(inputs[0])  # warm-up
    samples = []
    for one in inputs:
        begin = time.perf_counter()
        score(one)
        samples.append((time.perf_counter() - begin) * 1000)
    return samples


def _batch_seconds(score, batch, repeats: int = 3) -> float:
    """The median of ``repeats`` timed calls on the whole batch."""
    samples = []
    for _ in range(repeats):
        begin = time.perf_counter()
        score(batch)
        samples.append(time.perf_counter() - begin)
    return float(np.median(samples))


def _percentiles(samples: list[float]) -> dict[str, float]:
    return {
        q: round(float(np.percentile(samples, int(q[1:]))), 3)
        for q in ("p50", "p95", "p99")
    }


def _innermost(model):
    """The fitted pipeline inside the final model's wrappers (threshold,
    calibration), or the model itself."""
    while hasattr(model, "estimator") and not hasattr(model, "steps"):
        model = model.estimator
    return model


def _bare_model(model):
    """(prepare, final estimator) of the pipeline inside, or None."""
    pipeline = _innermost(model)
    if not hasattr(pipeline, "steps") or len(pipeline.steps) < 2:
        return None
    head = pipeline[:-1]
    return head.transform, pipeline.steps[-1][1]


if __name__ == "__main__":
    main()
