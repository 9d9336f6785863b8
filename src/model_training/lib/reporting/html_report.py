"""The one-page HTML report of a run (reports/{epic_id}/model_report.html).

Everything a reader needs to judge the run, from the run's own reports: the
verdict on the acceptance criteria, the leaderboard, the final model's test
metrics with confidence intervals beside the baselines refitted on the same
rows, business impact, calibration, importance, fairness, robustness, the
learning curve, every figure inline, and where the package and the MLflow run
are. The page is self-contained (styles inline, figures as data URIs), so it
opens offline and can be mailed as one file. Sections a problem type does not
have (no calibration for a regression) are left out, not shown empty.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Iterable
from html import escape
from typing import Any

from model_training.lib.reporting.leaderboard import leaderboard

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;
max-width:1100px;padding:0 1rem;color:#1b1f24;background:#fff;line-height:1.45}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem;
border-bottom:1px solid #d0d7de;padding-bottom:.2rem}
table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem}
th,td{border:1px solid #d0d7de;padding:.25rem .6rem;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}th{background:#f6f8fa}
.verdict{padding:.6rem 1rem;border-radius:6px;font-weight:600;margin:1rem 0}
.met{background:#dafbe1;border:1px solid #4ac26b}.unmet{background:#ffebe9;
border:1px solid #ff8182}.muted{color:#57606a;font-size:.85rem}
figure{display:inline-block;margin:.5rem;vertical-align:top;max-width:520px}
figure img{max-width:100%;border:1px solid #d0d7de}figcaption{font-size:.8rem;color:#57606a}
"""


def _num(value: Any, digits: int = 4) -> str:
    if value is None or isinstance(value, bool):
        return "-" if value is None else str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        return f"{value:.{digits}g}" if abs(value) >= 1000 else f"{value:.{digits}f}"
    return escape(str(value))


def _table(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> str:
    head = "".join(f"<th>{escape(str(h))}</th>" for h in header)
    body = []
    for row in rows:
        cells = []
        for cell in row:
            numeric = isinstance(cell, int | float) and not isinstance(cell, bool)
            css = ' class="n"' if numeric else ""
            cells.append(
                f"<td{css}>{_num(cell) if numeric else escape(str(cell))}</td>"
            )
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


def _section(title: str, *parts: str) -> str:
    content = "".join(p for p in parts if p)
    return f"<section><h2>{escape(title)}</h2>{content}</section>" if content else ""


def _verdict(verification: dict[str, Any]) -> str:
    criteria = verification.get("acceptance_criteria") or []
    checks = verification.get("checks") or []
    if not criteria and not checks:
        return ""
    met = sum(bool(c.get("met")) for c in criteria)
    passed = all(c.get("passed") for c in checks)
    ok = met == len(criteria) and passed
    headline = f"Acceptance criteria: {met} of {len(criteria)} met" + (
        "" if passed else "; a verification check failed"
    )
    rows = [
        (
            c.get("criterion", ""),
            c.get("value"),
            "met" if c.get("met") else "NOT met",
            "yes" if c.get("ci_crosses_threshold") else "no",
        )
        for c in criteria
    ]
    rows += [
        (
            c.get("check", ""),
            c.get("detail", ""),
            "passed" if c.get("passed") else "FAILED",
            "",
        )
        for c in checks
    ]
    return (
        f'<div class="verdict {"met" if ok else "unmet"}">{escape(headline)}</div>'
        + _table(
            ("criterion or check", "value", "result", "CI crosses threshold"), rows
        )
    )


def _leaderboard(performance: dict[str, Any]) -> str:
    board = leaderboard(performance)
    out = []
    for title, rows in board["sections"]:
        table_rows = []
        for row in rows:
            score = _num(row["score"])
            interval = row.get("interval")
            if interval and None not in interval:
                score += f" (95 % CI {_num(interval[0], 3)} to {_num(interval[1], 3)})"
            table_rows.append(
                (
                    row["rank"],
                    row["model"] or "-",
                    row["stage"],
                    score,
                    _num(row.get("fit_time_s"), 2),
                    _num(row.get("latency_p95_ms"), 2),
                )
            )
        out.append(f"<h3>{escape(title)}</h3>")
        out.append(
            _table(
                ("#", "model", "stage", board["primary_metric"], "fit s", "p95 ms"),
                table_rows,
            )
        )
    return "".join(out)


def _test_metrics(performance: dict[str, Any]) -> str:
    metrics = performance.get("metrics", {})
    test = metrics.get("test") or {}
    intervals = metrics.get("test_confidence_intervals") or {}
    baselines = performance.get("baselines_on_test") or {}
    names = list(baselines)
    rows = []
    for metric, value in test.items():
        ci = intervals.get(metric) or {}
        low, high = ci.get("low"), ci.get("high")
        ci_text = f"{_num(low, 3)} to {_num(high, 3)}" if ci else "-"
        rows.append(
            (metric, value, ci_text, *[baselines[b].get(metric) for b in names])
        )
    header = (
        "metric",
        "final model (test)",
        "95 % CI",
        *[f"baseline {b}" for b in names],
    )
    note = (
        '<p class="muted">Baselines are refitted on train + validation and scored '
        "on the same test rows (and, for classification, decided at the same "
        "threshold).</p>"
    )
    return _table(header, rows) + note if rows else ""


def _business(performance: dict[str, Any]) -> str:
    impact = (performance.get("business_impact") or {}).get("impact") or {}
    per_1000 = impact.get("expected_cost_per_1000") or {}
    parts = []
    if per_1000:
        parts.append(
            _table(("decision rule", "expected cost per 1,000"), per_1000.items())
        )
    facts = [
        (k.replace("_", " "), v)
        for k, v in impact.items()
        if isinstance(v, int | float) and not isinstance(v, bool)
    ]
    if facts:
        parts.append(_table(("figure", "value"), facts))
    translation = (performance.get("business_impact") or {}).get("translation")
    if isinstance(translation, str):
        parts.append(f"<p>{escape(translation)}</p>")
    return "".join(parts)


def _calibration(performance: dict[str, Any]) -> str:
    calibration = performance.get("calibration") or {}
    chosen = calibration.get("chosen") or {}
    test = calibration.get("test") or {}
    if not chosen and not test:
        return ""
    rows = [
        ("method", chosen.get("method", "none")),
        ("ECE before (out of fold)", chosen.get("ece_before")),
        ("ECE after (out of fold)", chosen.get("ece_after")),
        ("ECE on test", test.get("expected_calibration_error")),
    ]
    threshold = (performance.get("final_model") or {}).get("threshold")
    if isinstance(threshold, dict):  # the threshold and how it was chosen
        rows.append(("decision threshold", threshold.get("threshold")))
        if threshold.get("chosen_by"):
            rows.append(("chosen by", threshold["chosen_by"]))
    elif threshold is not None:
        rows.append(("decision threshold", threshold))
    return _table(("calibration", "value"), rows)


def _importance(performance: dict[str, Any], top: int = 10) -> str:
    importance = performance.get("feature_importance") or {}
    permutation = (importance.get("permutation") or {}).get("values") or {}
    shap = importance.get("shap_mean_abs") or {}
    if permutation:
        ranked = sorted(permutation.items(), key=lambda kv: -kv[1]["mean"])[:top]
        metric = importance["permutation"].get("metric", "")
        return _samples(importance) + _table(
            ("feature", f"permutation importance ({metric} drop)", "std"),
            [(name, v["mean"], v["std"]) for name, v in ranked],
        )
    if isinstance(shap, dict) and shap:
        ranked = sorted(
            ((k, v) for k, v in shap.items() if isinstance(v, int | float)),
            key=lambda kv: -kv[1],
        )[:top]
        return _samples(importance) + _table(("feature", "mean |SHAP|"), ranked)
    return ""


def _samples(importance: dict[str, Any]) -> str:
    """What rows the importances were computed on (bounded samples)."""
    notes = []
    permutation = importance.get("permutation") or {}
    if permutation.get("rows") is not None:
        notes.append(
            f"Permutation importance on {permutation['rows']} of "
            f"{permutation['of_rows']} test rows."
        )
    if permutation.get("not_shuffled"):
        notes.append(f"Permutation importance: {permutation['not_shuffled']}.")
    shap = importance.get("shap_sample") or {}
    if shap.get("rows_explained"):
        notes.append(
            f"SHAP ({shap.get('explainer', '')}) on {shap['rows_explained']} test rows"
            + (f": {shap['rows_capped']}." if shap.get("rows_capped") else ".")
        )
    if shap.get("units"):
        notes.append(
            f"SHAP values and coefficients are in {shap['units']} units: the "
            "model was fitted on that scale."
        )
    return f"<p>{escape(' '.join(notes))}</p>" if notes else ""


def _fairness(performance: dict[str, Any]) -> str:
    fairness = performance.get("fairness") or {}
    rows = []
    for attribute, result in fairness.items():
        if not isinstance(result, dict) or "groups" not in result:
            continue
        flags = result.get("flags") or []
        rows.append(
            (
                attribute,
                result.get("column", ""),
                len(result["groups"]),
                result.get("demographic_parity_difference"),
                "; ".join(flags) if flags else "none",
            )
        )
    return (
        _table(
            ("attribute", "column", "groups", "demographic parity difference", "flags"),
            rows,
        )
        if rows
        else ""
    )


def _robustness(performance: dict[str, Any]) -> str:
    robustness = performance.get("robustness") or {}
    perturbation = robustness.get("perturbation") or {}
    rows = [(k.replace("_", " "), v) for k, v in perturbation.items()]
    slices = (robustness.get("slices") or {}).get("slices") or []
    primary = performance.get("primary_metric")
    worst = sorted(
        (s for s in slices if isinstance(s.get(primary), int | float)),
        key=lambda s: s[primary],
    )[:5]
    parts = [_table(("perturbation", "value"), rows)] if rows else []
    if worst:
        parts.append("<h3>Weakest slices</h3>")
        parts.append(
            _table(
                ("feature", "slice", "rows", primary),
                [(s["feature"], s["slice"], s["rows"], s[primary]) for s in worst],
            )
        )
    return "".join(parts)


def _learning(performance: dict[str, Any]) -> str:
    curve = performance.get("learning_curve") or {}
    if not curve.get("points"):
        return f"<p>{escape(str(curve.get('verdict', '')))}</p>" if curve else ""
    rows = [
        (p["train_size"], p.get("train_mean"), p.get("validation_mean"))
        for p in curve["points"]
    ]
    return f"<p>{escape(str(curve.get('verdict', '')))}</p>" + _table(
        ("training rows", f"train {curve.get('metric', '')}", "validation"), rows
    )


def _figures(figures: dict[str, bytes]) -> str:
    out = []
    for name, png in sorted(figures.items()):
        data = base64.b64encode(png).decode("ascii")
        out.append(
            f'<figure><img alt="{escape(name)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{escape(name.replace('_', ' '))}</figcaption></figure>"
        )
    return "".join(out)


def render_report(
    performance: dict[str, Any],
    verification: dict[str, Any],
    registered: dict[str, Any],
    figures: dict[str, bytes],
    package_dir: str,
    tracking_uri: str | None = None,
) -> str:
    """The report as one HTML page (a string)."""
    epic = performance.get("epic_id", "")
    final = performance.get("final_model") or {}
    primary = performance.get("primary_metric", "")
    version = verification.get("package_version")
    run_id = registered.get("run_id")
    where = [
        ("model package", f"{package_dir}/ (version {version})"),
        ("model card", f"{package_dir}/model_card.md"),
        ("MLflow run", run_id or "not recorded"),
        (
            "registered model",
            f"{registered.get('registered_model_name', '-')} "
            f"v{registered.get('registered_version', '-')} "
            f"({registered.get('alias', 'no alias')})",
        ),
    ]
    if tracking_uri:
        where.append(("tracking store", tracking_uri))
    links = (
        f'<p><a href="../../{escape(package_dir)}/model_card.md">model card</a> · '
        f'<a href="../../{escape(package_dir)}/">package folder</a></p>'
    )
    summary = registered.get("description") or ""
    body = [
        f"<h1>Model report: {escape(str(epic))}</h1>",
        f'<p class="muted">{escape(str(performance.get("problem_type", "")))} · '
        f"final model {escape(str(final.get('model', '')))} · primary metric "
        f"{escape(str(primary))}</p>",
        f"<p>{escape(summary)}</p>" if summary else "",
        _verdict(verification),
        _section("Leaderboard", _leaderboard(performance)),
        _section("Test metrics against the baselines", _test_metrics(performance)),
        _section("Business impact", _business(performance)),
        _section("Calibration and decision threshold", _calibration(performance)),
        _section("What drives the predictions", _importance(performance)),
        _section("Fairness", _fairness(performance)),
        _section("Robustness", _robustness(performance)),
        _section("Learning curve", _learning(performance)),
        _section("Figures", _figures(figures)),
        _section("Where things are", _table(("output", "where"), where), links),
    ]
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Model report: {escape(str(epic))}</title>"
        f"<style>{STYLE}</style></head><body>{''.join(body)}</body></html>\n"
    )
