"""Stage step 6.5: metrics translated into business terms."""

from __future__ import annotations

from typing import Any

import numpy as np

from model_training.lib.core.frames import label_array
from model_training.lib.core.plan import ModelingPlan


def _cost_table(plan: ModelingPlan) -> tuple[list[str], np.ndarray] | None:
    cost = plan.metric_context["cost_matrix"]
    if cost is None:
        return None
    return [str(v) for v in cost["labels"]], np.asarray(cost["costs"], dtype=float)


def mean_cost(y: np.ndarray, decisions: np.ndarray, plan: ModelingPlan) -> float:
    """Average cost of decisions under the spec's cost matrix."""
    labels, table = _cost_table(plan)
    index = {label: i for i, label in enumerate(labels)}
    return float(
        np.mean(
            [
                table[index[str(a)], index[str(d)]]
                for a, d in zip(y, decisions, strict=True)
            ]
        )
    )


def binary_impact(
    y: np.ndarray,
    model_scores: np.ndarray,
    threshold: float,
    baseline_cost: float | None,
    baseline_name: str,
    plan: ModelingPlan,
) -> dict[str, Any]:
    """Expected cost per 1,000 decisions: model, best baseline, accept-all and reject-all.

    ``baseline_cost`` is the best baseline's expected cost per decision as the
    evaluation measured it: refitted on train + validation like the model, on
    the same test rows, decided at the model's threshold; the saving is
    measured against it, so the card shows one baseline figure everywhere.
    """
    positive, negative = plan.positive_class, plan.classes[0]
    labels, table = _cost_table(plan)
    pos, neg = labels.index(str(positive)), labels.index(str(negative))
    bayes = table[neg, pos] / (table[neg, pos] + table[pos, neg])

    def decide(scores: np.ndarray, t: float) -> np.ndarray:
        return np.where(scores >= t, positive, negative)

    per_1000 = {
        "model": 1000 * mean_cost(y, decide(model_scores, threshold), plan),
        "flag_none (accept all)": 1000
        * mean_cost(y, label_array([negative] * len(y)), plan),
        "flag_all (reject all)": 1000
        * mean_cost(y, label_array([positive] * len(y)), plan),
    }
    best_baseline = None
    if baseline_cost is not None and np.isfinite(baseline_cost):
        best_baseline = 1000 * float(baseline_cost)
        per_1000[f"baseline {baseline_name}"] = best_baseline
    grid = np.round(np.linspace(0.01, 0.99, 99), 2)
    curve = [1000 * mean_cost(y, decide(model_scores, t), plan) for t in grid]
    return {
        "cost_matrix": {"labels": labels, "costs": table.tolist()},
        "threshold": threshold,
        "bayes_threshold": float(bayes),
        "expected_cost_per_1000": per_1000,
        "baseline_decided_at": "the model's threshold, refitted on train + validation",
        "saving_per_1000_vs_baseline": None
        if best_baseline is None
        else best_baseline - per_1000["model"],
        "saving_per_1000_vs_best_trivial": min(
            per_1000["flag_none (accept all)"], per_1000["flag_all (reject all)"]
        )
        - per_1000["model"],
        "threshold_cost_curve": {"threshold": grid.tolist(), "cost_per_1000": curve},
    }


def _known(metrics: dict[str, Any], name: str) -> bool:
    """The metric is there and a finite number (an anomaly detector without a
    label column reports its label metrics as None)."""
    value = metrics.get(name)
    return isinstance(value, (int, float)) and bool(np.isfinite(value))


def translation_table(
    test_metrics: dict[str, float],
    plan: ModelingPlan,
    latency_p95_ms: float | None,
    impact: dict[str, Any] | None,
) -> list[dict[str, str]]:
    """The stage's business-translation table: metric, value, plain-language meaning."""
    rows = []
    positive = plan.positive_class
    m = test_metrics

    def add(metric: str, value: str, meaning: str) -> None:
        rows.append({"metric": metric, "value": value, "meaning": meaning})

    if _known(m, "precision"):
        p = m["precision"]
        false_share = f"1 in {1 / (1 - p):.1f}" if p < 1 else "none"
        add(
            "precision",
            f"{p:.2f}",
            f"{p:.0%} of cases flagged '{positive}' really are; {false_share} flags is a false alarm",
        )
    if _known(m, "recall"):
        r = m["recall"]
        missed = f"1 in {1 / (1 - r):.1f}" if r < 1 else "none"
        add(
            "recall",
            f"{r:.2f}",
            f"catches {r:.0%} of actual '{positive}' cases; misses {missed}",
        )
    if _known(m, "f1"):
        add("F1", f"{m['f1']:.2f}", "balance of precision and recall (1 is perfect)")
    if _known(m, "roc_auc"):
        add(
            "ROC-AUC",
            f"{m['roc_auc']:.3f}",
            f"a random '{positive}' case is scored above a random other case {m['roc_auc']:.0%} of the time (50 % is guessing)",
        )
    if _known(m, "accuracy"):
        add(
            "accuracy",
            f"{m['accuracy']:.2f}",
            f"{m['accuracy']:.0%} of decisions are right",
        )
    if impact:
        cost = impact["expected_cost_per_1000"]["model"]
        line = f"about {cost:,.0f} cost units per 1,000 decisions"
        saving = impact.get("saving_per_1000_vs_baseline")
        if saving is not None:
            line += (
                f"; {saving:,.0f} fewer than the best baseline"
                if saving >= 0
                else f"; {-saving:,.0f} MORE than the best baseline: the baseline is cheaper on test"
            )
        add("expected cost / 1,000", f"{cost:,.0f}", line)
    if _known(m, "mean_absolute_error"):
        add(
            "MAE",
            f"{m['mean_absolute_error']:.3g}",
            f"predictions are off by {m['mean_absolute_error']:.3g} {plan.spec.target} units on average",
        )
    if _known(m, "mean_absolute_percentage_error"):
        mape = m["mean_absolute_percentage_error"]
        add(
            "MAPE",
            f"{mape:.1%}",
            f"off by about {mape * 100:.0f} units per 100 (rows with a zero target skipped)",
        )
    if _known(m, "r2"):
        add(
            "R²",
            f"{m['r2']:.2f}",
            f"explains {max(m['r2'], 0):.0%} of the variance of {plan.spec.target}",
        )
    if latency_p95_ms is not None:
        budget = plan.spec.acceptance_criteria.latency_p95_ms
        verdict = (
            ""
            if budget is None
            else (" (within" if latency_p95_ms <= budget else " (over")
            + f" the {budget:.0f} ms budget)"
        )
        add(
            "p95 latency",
            f"{latency_p95_ms:.1f} ms",
            f"95 % of single predictions return within {latency_p95_ms:.0f} ms{verdict}",
        )
    return rows
