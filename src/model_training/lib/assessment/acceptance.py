"""The user story's acceptance criteria, checked on the test split.

One function serves the verification step (verification.json, the run's exit
code) and the model card, so both say the same thing. Each criterion records
its value, whether it is met, and whether the value's 95 % bootstrap interval
crosses the threshold (met on this test sample, but perhaps not on another).
"""

from __future__ import annotations

from typing import Any

from model_training.lib.core.metrics import METRICS
from model_training.lib.core.spec import AcceptanceCriteria


def _crosses(ci: dict[str, float] | None, threshold: float) -> bool | None:
    if not ci:
        return None
    return bool(ci["low"] <= threshold <= ci["high"])


def check_criteria(
    criteria: AcceptanceCriteria | dict[str, Any], performance: dict[str, Any]
) -> list[dict[str, Any]]:
    """Every acceptance criterion against a performance report.

    Args:
        criteria: the spec's ``acceptance_criteria`` (model or its JSON form).
        performance: the stage's performance report (test metrics, their
            confidence intervals, baselines on test, latency).
    """
    criteria = AcceptanceCriteria.model_validate(criteria)
    test = performance["metrics"]["test"]
    cis = performance["metrics"].get("test_confidence_intervals") or {}
    out: list[dict[str, Any]] = []
    for name, bound in criteria.metrics.items():
        value = test.get(name)
        for op, threshold in ((">=", bound.min), ("<=", bound.max)):
            if threshold is None:
                continue
            met = value is not None and (
                value >= threshold if op == ">=" else value <= threshold
            )
            out.append(
                {
                    "criterion": f"test {name} {op} {threshold}",
                    "value": value,
                    "threshold": threshold,
                    "met": bool(met),
                    "ci": cis.get(name),
                    "ci_crosses_threshold": _crosses(cis.get(name), threshold),
                }
            )
    baselines = performance.get("baselines_on_test") or {}
    for name in criteria.beats_best_baseline:
        value = test.get(name)
        better = METRICS[name].greater_is_better
        scored = {
            b: m[name]
            for b, m in baselines.items()
            if m.get(name) is not None and m[name] == m[name]  # not NaN
        }
        if not scored:
            out.append(
                {
                    "criterion": f"test {name} better than the best baseline's",
                    "value": value,
                    "met": False,
                    "detail": "no baseline could be scored on test",
                }
            )
            continue
        best = (max if better else min)(scored, key=scored.get)
        threshold = scored[best]
        met = value is not None and (value > threshold if better else value < threshold)
        out.append(
            {
                "criterion": f"test {name} better than the best baseline's "
                f"({best}: {threshold:.4g}, same test rows and threshold)",
                "value": value,
                "threshold": threshold,
                "baseline": best,
                "met": bool(met),
                "ci": cis.get(name),
                "ci_crosses_threshold": _crosses(cis.get(name), threshold),
            }
        )
    if criteria.latency_p95_ms is not None:
        p95 = performance["latency_ms"]["p95"]
        out.append(
            {
                "criterion": f"p95 latency <= {criteria.latency_p95_ms} ms",
                "value": p95,
                "threshold": criteria.latency_p95_ms,
                "met": bool(p95 <= criteria.latency_p95_ms),
            }
        )
    return out


def describe(criterion: dict[str, Any]) -> str:
    """One line for the model card: the criterion, its value, met or not, and
    whether its confidence interval crosses the threshold."""
    value = criterion.get("value")
    shown = f"{value:.4g}" if isinstance(value, float) else str(value)
    text = (
        f"{criterion['criterion']}: {shown}, {'met' if criterion['met'] else 'NOT met'}"
    )
    if criterion.get("ci_crosses_threshold"):
        ci = criterion["ci"]
        text += (
            f" (but its 95 % CI, {ci['low']:.3g} to {ci['high']:.3g}, crosses the "
            "threshold: on another sample it could go either way)"
        )
    if criterion.get("detail"):
        text += f" ({criterion['detail']})"
    return text
