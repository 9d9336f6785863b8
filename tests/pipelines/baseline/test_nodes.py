"""Nodes of the baseline pipeline, for each supervised problem type."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from model_training.lib.core.plan import build_plan
from model_training.lib.core.spec import ModelingSpec
from model_training.lib.training.baseline import compare_to
from model_training.pipelines.baseline.nodes import fit_baseline_models


def test_binary_baselines(frames, schema, spec):
    plan = build_plan(spec, schema, frames["train"]).model_dump(mode="json")
    results, models = fit_baseline_models(
        plan, frames["train"], frames["validation"], 0
    )
    names = [m["name"] for m in results["models"]]
    assert names == ["majority_class", "stratified_random", "logistic_regression"]
    by_name = {m["name"]: m for m in results["models"]}
    assert by_name["majority_class"]["metrics"]["roc_auc"] == pytest.approx(0.5)
    assert by_name["majority_class"]["metrics"]["recall"] == 0.0
    assert results["best"]["name"] == max(
        by_name, key=lambda n: by_name[n]["metrics"]["roc_auc"]
    )
    assert results["evaluated_on"] == "validation"
    assert set(models) == set(names)
    assert by_name["majority_class"]["trivial"]
    assert not by_name["logistic_regression"]["trivial"]
    assert results["best_trivial"]["name"] in ("majority_class", "stratified_random")
    se = results["best"]["standard_error"]
    assert se > 0
    assert (
        compare_to(results["best"], results["best"]["value"] + 5 * se, se) == "better"
    )
    assert compare_to(results["best"], results["best"]["value"] + se, se) == "tie"


def test_same_seed_same_results(frames, schema, spec):
    plan = build_plan(spec, schema, frames["train"]).model_dump(mode="json")
    first, _ = fit_baseline_models(plan, frames["train"], frames["validation"], 3)
    again, _ = fit_baseline_models(plan, frames["train"], frames["validation"], 3)
    strip = lambda r: [m["metrics"] for m in r["models"]]  # noqa: E731
    assert strip(first) == strip(again)


def test_regression_baselines(frames, schema):
    def numeric_target(frame):
        return frame.with_columns(
            (pl.col("amount") * 0.5 + pl.col("age") * 10).alias("label")
        )

    frames = {k: numeric_target(v) for k, v in frames.items()}
    spec = ModelingSpec(
        epic_id="tiny",
        problem_type="regression",
        target="label",
        primary_metric="rmse",
        id_columns=["row_id"],
    )
    plan = build_plan(spec, schema, frames["train"]).model_dump(mode="json")
    results, _ = fit_baseline_models(plan, frames["train"], frames["validation"], 0)
    by_name = {m["name"]: m for m in results["models"]}
    assert list(by_name) == ["mean", "median", "linear_regression"]
    # the target is linear in the features: the linear baseline is (almost) exact
    assert by_name["linear_regression"]["metrics"]["root_mean_squared_error"] < 1e-6
    assert results["best"]["name"] == "linear_regression"
    assert results["greater_is_better"] is False
    y = frames["validation"]["label"].to_numpy()
    mean = frames["train"]["label"].mean()
    assert by_name["mean"]["metrics"]["mean_absolute_error"] == pytest.approx(
        np.abs(y - mean).mean()
    )


def test_multiclass_baselines(frames, schema):
    def three(frame):
        return frame.with_columns(pl.col("segment").alias("label"))

    frames = {k: three(v) for k, v in frames.items()}
    spec = ModelingSpec(
        epic_id="tiny",
        problem_type="multiclass_classification",
        target="label",
        primary_metric="f1_macro",
        id_columns=["row_id"],
    )
    schema = schema.model_copy(
        update={
            "columns": [c for c in schema.columns if c.name != "segment"]
            + [
                schema.column("segment").model_copy(
                    update={"name": "segment", "role": "ignore"}
                )
            ]
        }
    )
    plan = build_plan(spec, schema, frames["train"]).model_dump(mode="json")
    results, _ = fit_baseline_models(plan, frames["train"], frames["validation"], 0)
    metrics = results["models"][2]["metrics"]
    assert {"f1_macro", "roc_auc_ovr", "log_loss", "accuracy"} <= set(metrics)
    assert 0.0 <= metrics["roc_auc_ovr"] <= 1.0
