"""Stage step 9: one table of every model the run trained, and why the final one won."""

from __future__ import annotations

from typing import Any

from model_training.lib.algorithms.registry import ALGORITHMS


def _scores(task: str, name: str) -> tuple[int | None, int | None]:
    algo = ALGORITHMS.get((task, name))
    if algo is None:
        return None, None
    return algo.interpretability, 6 - algo.interpretability


def comparison_table(
    task: str,
    baselines: dict[str, Any],
    candidates: dict[str, Any],
    tuning: dict[str, Any],
    selection: dict[str, Any],
    final_info: dict[str, Any],
    final_test: dict[str, Any],
    metric_names: list[str],
) -> dict[str, Any]:
    """Rows for baselines, candidates, tuned models and the final model.

    Baselines, candidates and tuned models are scored on validation; the final
    model (refitted on train + validation) on test, so its row is the honest one.
    Interpretability runs from 1 (opaque) to 5 (transparent); complexity is its
    complement (6 - interpretability).
    """
    keep = list(dict.fromkeys(metric_names))

    def pick(metrics: dict[str, Any] | None) -> dict[str, Any]:
        return {k: (metrics or {}).get(k) for k in keep}

    rows = []
    for entry in baselines["models"]:
        rows.append(
            {
                "model": entry["name"],
                "stage": "baseline",
                "evaluated_on": "validation",
                "metrics": pick(entry["metrics"]),
                "fit_time_s": entry["fit_time_s"],
                "interpretability": 5,
                "complexity": 1,
            }
        )
    for entry in candidates["models"]:
        interpretability, complexity = _scores(task, entry["name"])
        rows.append(
            {
                "model": entry["name"],
                "stage": "candidate",
                "evaluated_on": "validation",
                "status": entry["status"],
                "metrics": pick(entry.get("metrics")),
                "fit_time_s": entry.get("fit_time_s"),
                "latency_p95_ms": (entry.get("latency_ms") or {}).get("p95"),
                "peak_memory_mb": entry.get("peak_memory_mb"),
                "size_mb": entry.get("size_mb"),
                "interpretability": interpretability,
                "complexity": complexity,
                "beats_baseline": entry.get("beats_baseline"),
            }
        )
    cv_by_model = {m["model"]: m["metrics"]["cv_mean"] for m in tuning["models"]}
    for entry in selection["models"]:
        interpretability, complexity = _scores(task, entry["model"])
        rows.append(
            {
                "model": entry["model"],
                "stage": "tuned",
                "evaluated_on": "validation",
                "status": entry["status"],
                "cv_mean": cv_by_model.get(entry["model"]),
                "metrics": pick(entry.get("validation_metrics")),
                "interpretability": interpretability,
                "complexity": complexity,
            }
        )
    interpretability, complexity = _scores(task, final_info["model"])
    rows.append(
        {
            "model": final_info["model"],
            "stage": "final",
            "evaluated_on": "test",
            "metrics": pick(final_test["metrics"]),
            "latency_p95_ms": final_test.get("latency_ms", {}).get("p95"),
            "size_mb": final_test.get("size_mb"),
            "interpretability": interpretability,
            "complexity": complexity,
        }
    )
    calibration = (final_info.get("calibration") or {}).get("method")
    threshold = (final_info.get("threshold") or {}).get("threshold")
    rationale = selection["rationale"] + "; refitted on train + validation"
    if calibration:
        rationale += f", calibrated ({calibration})"
    if threshold is not None:
        rationale += f", deciding at threshold {threshold:.2f}"
    return {"rows": rows, "rationale": rationale}
