"""The monitoring baseline's drift reference: PSI on reference bins."""

from __future__ import annotations

import numpy as np
import polars as pl

from model_training.lib.reporting.monitoring import (
    feature_statistics,
    population_stability_index,
)


def test_psi_is_near_zero_for_the_same_distribution_and_large_for_a_shift(xor_setup):
    parts, _, _, plan = xor_setup
    stats = feature_statistics(parts["train"], plan, 10)
    reference = stats["a"]["psi_reference"]
    same = parts["train"].get_column("a").to_numpy()
    assert population_stability_index(reference, same) < 0.01
    assert population_stability_index(reference, same + 5 * same.std()) > 0.2


def test_categorical_psi_counts_unknown_categories_as_other():
    frame = pl.DataFrame({"c": ["a"] * 60 + ["b"] * 40})
    from model_training.lib.reporting import monitoring

    reference = monitoring._categorical_reference(frame.get_column("c"), 1)
    assert reference["categories"] == ["a", "__other__"]
    assert population_stability_index(reference, ["a"] * 60 + ["z"] * 40) < 1e-9
    assert population_stability_index(reference, ["a"] * 10 + ["z"] * 90) > 0.2
    assert np.isclose(sum(reference["proportions"]), 1.0)


def _baseline(frame, plan, output):
    from model_training.lib.reporting.monitoring import monitoring_baseline

    return monitoring_baseline(
        plan,
        frame,
        output,
        output,
        {"roc_auc": 0.9},
        {"p95": 1.0},
        {
            "performance_degradation": 0.1,
            "psi_threshold": 0.2,
            "missing_rate_threshold": 0.05,
            "latency_p95_ms": 200.0,
        },
        10,
    )


def test_a_drifted_copy_raises_each_kind_of_alert_and_the_same_rows_none(xor_setup):
    from model_training.lib.reporting.monitoring import compare_with_baseline
    from tests.conftest import make_xor_frame

    plan = xor_setup[3]  # the XOR epic's plan; its baseline from 3,000 rows
    frame = make_xor_frame(3000, seed=2)
    rng = np.random.default_rng(0)
    output = rng.random(frame.height)
    baseline = _baseline(frame, plan, output)

    same = compare_with_baseline(baseline, frame, output, {"roc_auc": 0.9}, True, 0.01)
    assert same["status"] == "ok" and same["alerts"] == []
    assert same["prediction_drift"]["psi"] < 0.01

    drifted = frame.with_columns(
        (pl.col("a") + 0.6).alias("a"),  # a shift
        pl.when(pl.col("row_id") % 5 == 0)
        .then(None)
        .otherwise(pl.col("noise"))
        .alias("noise"),  # 20 % missing where there were none
        pl.when(pl.col("row_id") % 4 == 0)
        .then(pl.lit("purple"))
        .otherwise(pl.col("colour"))
        .alias("colour"),  # a category training never had
    )
    result = compare_with_baseline(
        baseline, drifted, output**3, {"roc_auc": 0.7}, True, 0.01
    )
    by_name = {f["feature"]: f for f in result["features"]}
    assert result["status"] == "alert"
    assert by_name["a"]["alert"] and by_name["a"]["significant"]
    assert result["features"][0]["feature"] == "a"  # sorted by PSI
    assert by_name["noise"]["missing_rate"] == 0.2
    assert any("missing rate" in r for r in by_name["noise"]["reasons"])
    assert by_name["colour"]["unseen_categories"] == ["purple"]
    assert not by_name["b"]["alert"]
    assert result["prediction_drift"]["alert"]
    perf = result["performance"]
    assert perf["alert"] and np.isclose(perf["relative_degradation"], 0.2 / 0.9)
    assert len(result["alerts"]) == 5  # a, noise, colour, predictions, roc_auc


def test_the_drift_test_is_scipys_chi_square_on_the_reference_bins():
    from scipy.stats import chisquare

    from model_training.lib.reporting.monitoring import drift_test

    reference = {"edges": [0.0, 1.0], "proportions": [0.25, 0.5, 0.25]}
    values = [-1.0] * 10 + [0.5] * 30 + [2.0] * 60
    result = drift_test(reference, values)
    expected = chisquare([10, 30, 60], [25, 50, 25])
    assert np.isclose(result["chi2"], expected.statistic)
    assert np.isclose(result["p_value"], expected.pvalue)
    assert result["new_proportions"] == [0.1, 0.3, 0.6]
