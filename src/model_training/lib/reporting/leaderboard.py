"""The leaderboard printed at the end of a run: every model ranked by the
primary metric, on the rows it was judged on.

Validation scores and test scores are not comparable, so the board has two
sections: the baselines, candidates and tuned configurations on validation
(ranked), then the final model on test beside every baseline refitted on train
+ validation and scored on the same test rows (ranked), with the final model's
confidence interval.
"""

from __future__ import annotations

import math
from typing import Any

from model_training.lib.core.metrics import METRICS, canonical


def leaderboard(performance: dict[str, Any]) -> dict[str, Any]:
    """The board's sections from the run's performance report."""
    primary = performance["primary_metric"]
    greater = METRICS[canonical(primary)].greater_is_better

    def ranked(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        def key(row: dict[str, Any]) -> float:
            value = row["score"]
            if value is None or math.isnan(value):
                return math.inf
            return -value if greater else value

        out = sorted(rows, key=key)
        for rank, row in enumerate(out, start=1):
            row["rank"] = rank
        return out

    validation = [
        {
            "model": row["model"],
            "stage": row["stage"],
            "score": row.get("metrics", {}).get(primary),
            "fit_time_s": row.get("fit_time_s"),
            "latency_p95_ms": row.get("latency_p95_ms"),
        }
        for row in performance.get("comparison", {}).get("rows", [])
        if row.get("evaluated_on") == "validation"
    ]
    final = performance.get("final_model", {}).get("model")
    ci = performance["metrics"].get("test_confidence_intervals", {}).get(primary, {})
    test = [
        {
            "model": final,
            "stage": "final",
            "score": performance["metrics"]["test"].get(primary),
            "interval": (ci.get("low"), ci.get("high")) if ci else None,
            "fit_time_s": None,
            "latency_p95_ms": (performance.get("latency_ms") or {}).get("p95"),
        }
    ]
    for name, metrics in (performance.get("baselines_on_test") or {}).items():
        test.append(
            {
                "model": name,
                "stage": "baseline",
                "score": metrics.get(primary),
                "fit_time_s": None,
                "latency_p95_ms": None,
            }
        )
    return {
        "primary_metric": primary,
        "greater_is_better": greater,
        "sections": [
            ("on validation", ranked(validation)),
            ("on test (baselines refitted on train + validation)", ranked(test)),
        ],
    }


def _number(value: Any, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}g}" if abs(value) >= 1000 else f"{value:.{digits}f}"


def render_leaderboard(board: dict[str, Any], width: int = 100) -> str:
    """The board as text tables (rich), one per section."""
    from io import StringIO

    from rich.console import Console
    from rich.table import Table

    primary = board["primary_metric"]
    direction = "higher" if board["greater_is_better"] else "lower"
    buffer = StringIO()
    console = Console(file=buffer, width=width, color_system=None)
    for title, rows in board["sections"]:
        table = Table(
            title=f"Leaderboard {title}: {primary}, {direction} is better",
            title_justify="left",
        )
        for column, justify in (
            ("#", "right"),
            ("model", "left"),
            ("stage", "left"),
            (primary, "right"),
            ("fit s", "right"),
            ("p95 ms", "right"),
        ):
            table.add_column(column, justify=justify)  # type: ignore[arg-type]
        for row in rows:
            score = _number(row["score"])
            if row.get("interval") and None not in row["interval"]:
                low, high = row["interval"]
                score += f" (CI {_number(low, 3)}-{_number(high, 3)})"
            table.add_row(
                str(row["rank"]),
                row["model"] or "-",
                row["stage"],
                score,
                _number(row["fit_time_s"], 2),
                _number(row["latency_p95_ms"], 2),
            )
        console.print(table)
    return buffer.getvalue().rstrip()
