"""Stage step 11: the model card, written from the run's own figures."""

from __future__ import annotations

from typing import Any

from model_training.lib.assessment.acceptance import check_criteria, describe


# metrics that compare clusters with a label column
def fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _metric_rows(
    performance: dict[str, Any], names: list[str], baseline: dict[str, Any]
) -> list[str]:
    """Model and best baseline side by side: on the same test rows (and, for a
    binary decision, the same threshold) when the baseline was scored on test."""
    test = performance["metrics"]["test"]
    oof = performance["metrics"]["validation_out_of_fold"]
    cis = performance["metrics"]["test_confidence_intervals"]
    on_test = (performance.get("baselines_on_test") or {}).get(baseline["name"])
    column = (
        "best baseline on test (same rows and threshold)"
        if on_test
        else "best baseline on validation"
    )
    reference = on_test or baseline["metrics"]
    rows = [
        f"| metric | test | 95 % CI (bootstrap) | out-of-fold (train + validation) | {column} |",
        "|---|---|---|---|---|",
    ]
    for name in names:
        ci = cis.get(name)
        interval = f"{ci['low']:.3f} to {ci['high']:.3f}" if ci else ""
        rows.append(
            f"| {name} | {fmt(test.get(name))} | {interval} | {fmt(oof.get(name))} | {fmt(reference.get(name))} |"
        )
    return rows


def _acceptance(spec: dict[str, Any], performance: dict[str, Any]) -> list[str]:
    criteria = check_criteria(spec.get("acceptance_criteria") or {}, performance)
    if not criteria:
        return []
    met = all(c["met"] for c in criteria)
    return [
        "### Acceptance criteria (test split)",
        "",
        f"{'All met' if met else 'Not all met'}: "
        f"{sum(c['met'] for c in criteria)} of {len(criteria)}.",
        "",
        *[f"- {describe(c)}." for c in criteria],
        "",
    ]


def render(
    *,
    spec: dict[str, Any],
    metadata: dict[str, Any],
    performance: dict[str, Any],
    data_quality: dict[str, Any],
    baseline_results: dict[str, Any],
    feature_doc_path: str,
    wording: dict[str, Any],
) -> str:
    """Markdown for models/{epic}/model_card.md; every number comes from the run.

    ``wording`` is the problem type's own text (``ProblemType.card_wording``):
    the purpose, the output line and any sections of its own.
    """
    epic = spec["epic_id"]
    final = performance["final_model"]
    names = list(
        dict.fromkeys([spec["primary_metric"], *spec.get("secondary_metrics", [])])
    )
    best_baseline = next(
        m
        for m in baseline_results["models"]
        if m["name"] == baseline_results["best"]["name"]
    )
    impact = performance["business_impact"]
    lines = [
        f"# Model card: {epic}_model, version {metadata['model_version']}",
        "",
        "## Model overview",
        f"- **Name and version:** `{epic}_model` v{metadata['model_version']} "
        f"(package `{metadata['artifacts']['model']['file']}`), created {metadata['creation_date']}.",
        f"- **Type:** {spec['problem_type'].replace('_', ' ')}; {_algorithm_line(final)}; "
        f"hyperparameters in `metadata_v{metadata['model_version']}.json`.",
        f"- **Purpose:** {wording['purpose']}"
        + f" for the epic `{epic}`; see `docs/objectives/user_stories/{epic}/user_story.md`.",
        f"- **Made by:** the model-training stage (code commit `{metadata.get('code_commit') or 'unknown'}`, "
        f"MLflow run `{metadata.get('mlflow_run_id') or 'not tracked'}`).",
        "",
        "## Intended use",
        f"- Primary use: scoring new rows with the same {len(metadata['feature_names'])} feature columns as the "
        "training data, in batch or one at a time.",
        "- Decisions: "
        + (
            f"the package predicts the positive class when its calibrated probability is at least "
            f"**{final['threshold']['threshold']:.2f}**, the threshold that minimised expected cost on out-of-fold data."
            if final.get("threshold")
            else f"a row is flagged when its anomaly score exceeds **{final['anomaly_threshold']['threshold']:.4g}**; "
            f"the threshold {final['anomaly_threshold']['method']}."
            if final.get("anomaly_threshold")
            else "the package returns the model's prediction."
        ),
        "- Out of scope: populations unlike the training data (see Limitations), automated decisions without "
        "human review where the user story requires explanations, and any use of the sensitive attributes to "
        "target groups.",
        "",
        "## Training data",
        f"- Source: `data/4_processed/{epic}/features/` (documentation: `{feature_doc_path}`).",
        f"- Rows: {data_quality['summary'].get('train_size')} train, {data_quality['summary'].get('validation_size')} "
        f"validation (the final model was refitted on both: {metadata['training_data_stats']['n_samples']} rows), "
        f"{performance['metrics'].get('n_test') or metadata.get('n_test')} test rows held out.",
        f"- Features: {', '.join(f'`{f}`' for f in metadata['feature_names'])}.",
        f"- Data quality: status **{data_quality['status']}** "
        f"({data_quality['summary']['n_pass']} checks passed, {data_quality['summary']['n_warn']} warnings).",
        "",
        "## Performance",
        f"Test metrics of the final model ({performance['metrics'].get('n_test') or metadata.get('n_test')} rows), "
        f"with bootstrap confidence intervals, against the best baseline `{best_baseline['name']}`:",
        "",
        *_metric_rows(performance, names, best_baseline),
        "",
        *_acceptance(spec, performance),
        f"Comparison: {performance['comparison']['rationale']}.",
        "",
    ]
    if impact.get("impact"):
        costs = impact["impact"]["expected_cost_per_1000"]
        lines += [
            "### Business impact (expected cost per 1,000 decisions, test)",
            "",
            "| policy | cost per 1,000 |",
            "|---|---|",
        ]
        lines += [
            f"| {name} | {value:,.0f} |"
            for name, value in sorted(costs.items(), key=lambda kv: kv[1])
        ]
        saving = impact["impact"]["saving_per_1000_vs_baseline"]
        if saving is not None:
            if round(saving) > 0:
                verdict = f"saves {saving:,.0f} per 1,000 decisions compared with"
            elif round(saving) < 0:
                verdict = f"costs {-saving:,.0f} more per 1,000 decisions than"
            else:
                verdict = "costs the same per 1,000 decisions as"
            lines += [
                "",
                f"The model {verdict} the best baseline (same test rows, same threshold).",
            ]
        lines.append("")
    lines += wording["sections"]
    lines += ["### In plain words", "", "| metric | value | meaning |", "|---|---|---|"]
    lines += [
        f"| {r['metric']} | {r['value']} | {r['meaning']} |"
        for r in impact["translation"]
    ]
    if performance["fairness"]:
        lines += ["", "### Performance across groups", ""]
    for name, entry in performance["fairness"].items():
        lines.append(f"**{name}** (from `{entry['column']}`)")
        lines.append("")
        keys = [k for k in next(iter(entry["groups"].values())) if k != "size"]
        lines.append("| group | size | " + " | ".join(keys) + " |")
        lines.append("|---|---|" + "---|" * len(keys))
        for group, row in entry["groups"].items():
            lines.append(
                f"| {group} | {row['size']} | "
                + " | ".join(fmt(row.get(k)) for k in keys)
                + " |"
            )
        lines.append("")
        for flag in entry["flags"]:
            lines.append(f"- Flag: {flag}.")
        lines.append("")
    robustness = performance["robustness"]
    worst = robustness["slices"]["worst"][:3]
    lines += [
        "## Limitations",
        *[
            f"- The {name.replace('_', ' ')} analysis failed and is left out: {a['error']}."
            for name, a in (performance.get("analyses") or {}).items()
            if a.get("status") == "failed"
        ],
        *selection_limits(performance.get("comparison") or {}),
        *[
            f"- Figure {name} could not be drawn: {error}."
            for name, error in (
                (performance.get("figures") or {}).get("failed") or {}
            ).items()
        ],
        f"- Learning curve: {performance['learning_curve'].get('verdict', 'n/a')}.",
        "- Weakest slices on test: "
        + (
            "; ".join(
                f"{w['feature']} {w['slice']} ({w['rows']} rows, {spec['primary_metric']} {fmt(w[spec['primary_metric']])})"
                for w in worst
            )
            or "none"
        )
        + ".",
        f"- Sensitivity: small input noise changed "
        f"{fmt(robustness['perturbation'].get('share_of_changed_decisions', robustness['perturbation'].get('mean_absolute_prediction_change')))} "
        "of decisions (share) or predictions (mean change).",
        (
            f"- {robustness['out_of_distribution']['share']:.1%} of test rows were outside the training ranges or "
            "had unseen categories."
            if robustness["out_of_distribution"].get("share") is not None
            else "- Out-of-distribution share: not computed."
        ),
        f"- Test set of {performance['metrics'].get('n_test') or metadata.get('n_test')} rows: the confidence intervals above show "
        "how much the figures could move on another sample.",
        "- The data may carry historical biases (see the fairness flags and the feature documentation's caveats); "
        "performance will drift as the population changes.",
        "",
        "## Deployment",
        f"- Input: a table (polars or pandas) with the columns {', '.join(f'`{f}`' for f in metadata['feature_names'])}; "
        "categorical columns as text, numeric as numbers; missing values allowed (imputed).",
        f"- Output: {wording['output']}",
        f"- Load: `ModelPackageDataset(filepath='models/{epic}').load()['model']` (from `model_training.datasets`), "
        f"which checks the file's signature and its sha256 ({metadata['artifacts']['model']['sha256'][:16]}...) "
        f"before unpickling `{metadata['artifacts']['model']['file']}`; or "
        f"`mlflow.pyfunc.load_model('models:/{epic}_model/<version>')`, whose `predict` "
        "(and `mlflow models serve`) answers with the inference pipeline's table: "
        "the decision, the class probabilities or scores, and warnings.",
        f"- Latency (single row, in process): p50 {performance['latency_ms']['p50']:.1f} ms, "
        f"p95 {performance['latency_ms']['p95']:.1f} ms, p99 {performance['latency_ms']['p99']:.1f} ms. "
        f"Package size {metadata['artifacts']['model']['bytes'] / 2**20:.2f} MiB.",
        "- Resources: CPU only; pinned requirements in `requirements.txt` beside this card.",
        "",
        "## Monitoring plan",
        "- Baseline: `monitoring_baseline.json` (feature statistics, PSI reference bins for every feature and for the "
        "predictions, test performance, latency).",
        f"- Alerts: {', '.join(f'{k} {v}' for k, v in metadata['alert_thresholds'].items())}.",
        "- Data quality: missing-rate and type checks on every batch; PSI per feature weekly.",
        "- Retraining: when an alert persists for two periods, when labelled performance drops beyond the threshold, "
        "or at least every six months.",
        "",
    ]
    return "\n".join(lines)


def selection_limits(comparison: dict[str, Any]) -> list[str]:
    """The card's limitations from the choice of model: no evidence that it
    beats a constant, a search the clock ended."""
    lines = []
    trivial = comparison.get("trivial_reference")
    if trivial and not trivial.get("beats"):
        lines.append(f"- Under cross-validation, {trivial['note']}.")
    if clock := comparison.get("tuning_clock_bound"):
        lines.append(
            f"- Tuning of {', '.join(clock)} was ended by the clock before its trial "
            "budget: a rerun on a faster or quieter machine may choose a different "
            "configuration."
        )
    return lines


def _algorithm_line(final: dict[str, Any]) -> str:
    """The final model's algorithm in words: one algorithm, or an ensemble's members."""
    members = final.get("members")
    if not members:
        return (
            f"algorithm **{final['model']}** with imbalance handling "
            f"`{final['imbalance']}`" + _log_target(final, long=True)
        )
    parts = ", ".join(
        f"{m['model']} ({m['source']}, imbalance `{m['imbalance']}`"
        f"{_log_target(m)}) x{m['weight']:.2f}"
        for m in members
    )
    return (
        "a **weighted ensemble** (greedy selection over out-of-fold predictions) "
        f"averaging {parts}"
    )


def _log_target(config: dict[str, Any], long: bool = False) -> str:
    """What the card says of a model fitted on log(1 + target)."""
    if (config.get("params") or {}).get("target_transform") != "log1p":
        return ""
    if not long:
        return ", on log(1 + target)"
    return (
        "; fitted on log(1 + target), its predictions mapped back to the "
        "target's units (exp, times Duan's smearing factor when the primary "
        "metric is a squared error, minus 1; the search chose "
        "`target_transform: log1p` under cross-validation)"
    )
