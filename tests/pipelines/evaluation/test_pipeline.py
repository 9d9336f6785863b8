"""The whole stage in memory for each supervised problem type, ending with evaluation."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from model_training.datasets import FigureDirectoryDataset, RunClockDataset
from model_training.lib.core.spec import ModelingSpec
from model_training.lib.data_quality.epic_builder import infer_schema, split_frame
from model_training.pipeline_registry import register_pipelines
from tests.conftest import conf_params, make_xor_frame

MODELING = conf_params(
    "modeling",
    {
        "defaults": {
            "logistic_regression": {"C": 1.0},
            "random_forest": {"n_estimators": 40, "min_samples_leaf": 2},
            "hist_gradient_boosting": {"max_iter": 40},
            "ridge": {"alpha": 1.0},
        },
        "latency_repeats": 3,
        "throughput_rows": 100,
    },
)
_TUNING_RAW = {
    "storage": None,
    "caps": {"n_trials": 2},
    "search_spaces": {
        "random_forest": {"max_depth": {"type": "int", "low": 3, "high": 8}},
        "hist_gradient_boosting": {
            "max_iter": {"type": "int", "low": 20, "high": 60, "step": 20}
        },
        "ridge": {"alpha": {"type": "float", "low": 0.01, "high": 10.0, "log": True}},
    },
    "calibration": {"enabled": True, "methods": ["sigmoid"], "min_rows_isotonic": 500},
}
TUNING = conf_params(
    "tuning",
    {k: v for k, v in _TUNING_RAW.items() if k != "search_spaces"},
    replace={"search_spaces": _TUNING_RAW.get("search_spaces", {})},
)
EVALUATION = conf_params(
    "evaluation",
    {
        "analysis_max_rows": 25,
        "bootstrap": {"n_boot": 50},
        "latency_repeats": 3,
        "permutation_repeats": 2,
        "shap": {"max_rows": 40},
        "partial_dependence": {"top": 2, "grid": 5},
        "fairness": {"min_group_size": 5},
        "robustness": {"slice_min_rows": 5},
        "learning_curve": {"sizes": [0.5, 1.0], "n_splits": 2, "max_rows": 120},
    },
)


# binary targets coded as booleans and as floats: their labels must survive
# every step in their own type (a bool target must not come back as "True")
CODED = {
    "binary_bool": ({"yes": True, "no": False}, pl.Boolean),
    "binary_float": ({"yes": 1.0, "no": 0.0}, pl.Float64),
}


def _epic(kind: str):
    frame = make_xor_frame(360, seed=2)
    positive, negative = "yes", "no"
    if kind in CODED:
        mapping, dtype = CODED[kind]
        frame = frame.with_columns(
            pl.col("label").replace_strict(mapping, return_dtype=dtype)
        )
        positive, negative = mapping["yes"], mapping["no"]
    common = {
        "epic_id": "e",
        "id_columns": ["row_id"],
        "cross_validation": {"n_splits": 3},
        "search": {"n_trials": 2, "timeout_s": 60, "top_k": 1},
        "sensitive_features": [{"name": "colour", "column": "colour"}],
    }
    if kind.startswith("binary"):
        spec = ModelingSpec(
            problem_type="binary_classification",
            target="label",
            positive_class=positive,
            primary_metric="roc_auc",
            cost_matrix={"labels": [negative, positive], "costs": [[0, 1], [3, 0]]},
            algorithms=["logistic_regression", "random_forest"],
            **common,
        )
    elif kind == "multiclass":
        third = pl.col("noise") > 0.8
        frame = frame.with_columns(
            pl.when(third)
            .then(pl.lit("maybe"))
            .otherwise(pl.col("label"))
            .alias("label")
        )
        spec = ModelingSpec(
            problem_type="multiclass_classification",
            target="label",
            primary_metric="f1_macro",
            algorithms=["logistic_regression", "hist_gradient_boosting"],
            **common,
        )
    else:
        frame = frame.with_columns(
            (
                pl.col("a") * 3
                + (pl.col("a") > 0.5).cast(pl.Float64) * pl.col("b") * 4
                + pl.col("noise") * 0.1
            ).alias("label")
        )
        spec = ModelingSpec(
            problem_type="regression",
            target="label",
            primary_metric="rmse",
            algorithms=["ridge", "random_forest"],
            **common,
        )
    parts = split_frame(
        frame, seed=0, stratify="label" if kind != "regression" else None
    )
    schema = infer_schema(frame, "e", target="label", roles={"row_id": "identifier"})
    return parts, schema, spec


class KeptDataset(MemoryDataset):
    """A memory dataset the runner does not empty once its readers are done."""

    def _release(self) -> None:
        pass


@pytest.fixture(
    scope="module",
    params=["binary", "multiclass", "regression", "binary_bool", "binary_float"],
)
def stage(request, tmp_path_factory):
    parts, schema, spec = _epic(request.param)
    catalog = DataCatalog(
        {
            "train_features": MemoryDataset(parts["train"]),
            "validation_features": MemoryDataset(parts["validation"]),
            "test_features": MemoryDataset(parts["test"]),
            "feature_schema": MemoryDataset(schema, copy_mode="assign"),
            "modeling_spec": MemoryDataset(spec, copy_mode="assign"),
            "params:epic_id": MemoryDataset("e"),
            "params:seed": MemoryDataset(0),
            "params:budget": MemoryDataset(conf_params("budget")),
            "run_clock": RunClockDataset(),
            "params:data_validation": MemoryDataset(conf_params("data_validation")),
            "params:modeling": MemoryDataset(MODELING),
            "params:tuning": MemoryDataset(TUNING),
            "params:evaluation": MemoryDataset(EVALUATION),
            "test_predictions": KeptDataset(),
            "modeling_plan": KeptDataset(),
            "final_model": KeptDataset(copy_mode="assign"),
            "final_model_info": KeptDataset(copy_mode="assign"),
            "tuning_results": KeptDataset(copy_mode="assign"),
            "test_evaluation": KeptDataset(copy_mode="assign"),
            "data_quality_report": KeptDataset(copy_mode="assign"),
            "baseline_results": KeptDataset(copy_mode="assign"),
        }
    )
    pipes = register_pipelines()
    stage = ("data_validation", "baseline", "modeling", "tuning", "evaluation")
    pipeline = sum((pipes[name] for name in stage), pipes["data_validation"])
    out = SequentialRunner().run(pipeline, catalog)
    folder = None
    if request.param not in CODED:  # the coded variants draw binary's figures
        folder = tmp_path_factory.mktemp(request.param)
        FigureDirectoryDataset(filepath=str(folder)).save(out["model_figures"].load())
    return request.param, catalog, out, folder


def test_performance_report_has_every_section(stage):
    kind, _, out, _ = stage
    report = out["model_performance"].load()
    for key in (
        "metrics",
        "cross_validation",
        "calibration",
        "feature_importance",
        "business_impact",
        "fairness",
        "robustness",
        "learning_curve",
        "comparison",
        "latency_ms",
        "local_explanations",
    ):
        assert key in report, key
    assert set(report["metrics"]) >= {
        "training",
        "validation_out_of_fold",
        "test",
        "test_confidence_intervals",
    }
    primary = report["primary_metric"]
    ci = report["metrics"]["test_confidence_intervals"][primary]
    assert ci["low"] <= report["metrics"]["test"][primary] <= ci["high"]
    assert {a["status"] for a in report["analyses"].values()} == {"ok"}
    # the perturbation test scores at most analysis_max_rows (25 here) test rows
    sample = report["robustness"]["perturbation"]["sample"]
    assert sample["rows"] <= 25 < sample["of_rows"]
    # the suite runs without a global budget: nothing bound, every step timed
    timings = report["timings"]
    assert timings["budget_s"] is None and timings["budget_bound"] == []
    assert all(v is not None for v in timings["steps_s"].values())
    assert report["figures"]["failed"] == {} and report["figures"]["written"]
    stages = {row["stage"] for row in report["comparison"]["rows"]}
    assert stages == {"baseline", "candidate", "tuned", "final"}
    if kind == "regression":
        assert report["regression"]["prediction_intervals"]
        assert report["confusion_matrix"] is None
    else:
        assert report["confusion_matrix"]["labels"]


def test_costly_analyses_use_bounded_samples_and_say_so(stage):
    """Permutation importance and partial dependence score at most
    analysis_max_rows test rows, the learning curve at most its max_rows of
    train + validation; the report names the sample and what it was drawn from."""
    kind, catalog, out, _ = stage
    report = out["model_performance"].load()
    classes = 1 if kind == "regression" else 3  # a class may add one row
    test_rows = catalog.load("test_features").height
    permutation = report["feature_importance"]["permutation"]
    assert permutation["of_rows"] == test_rows > 25
    assert 25 - classes <= permutation["rows"] <= 25 + classes
    curve = report["learning_curve"]
    fit_rows = (
        catalog.load("train_features").height
        + catalog.load("validation_features").height
    )
    assert curve["of_rows"] == fit_rows > 120
    assert 120 - classes <= curve["rows"] <= 120 + classes


FIGURES = {
    "binary": {
        "roc_curve",
        "precision_recall_curve",
        "confusion_matrix",
        "calibration_curve",
        "threshold_cost_curve",
        "business_impact",
    },
    "multiclass": {"roc_curve", "confusion_matrix"},
    "regression": {"residuals", "actual_vs_predicted"},
}
COMMON = {
    "feature_importance",
    "shap_summary",
    "partial_dependence",
    "learning_curve",
    "fairness_colour",
    "local_explanation_highest_score",
    "local_explanation_borderline",
    "local_explanation_worst_error",
}


def test_every_figure_is_written_and_non_empty(stage):
    kind, _, out, folder = stage
    kind = kind.split("_")[0]
    if folder is None:  # drawn, not rendered to PNG (the same as binary's)
        drawn = set(out["model_figures"].load())
        assert FIGURES[kind] | COMMON <= drawn, sorted(FIGURES[kind] | COMMON - drawn)
        return
    files = {p.stem: p for p in folder.glob("*.png")}
    assert FIGURES[kind] | COMMON <= set(files), sorted(
        set(FIGURES[kind] | COMMON) - set(files)
    )
    assert sum(name.startswith("shap_dependence_") for name in files) >= 2
    for path in files.values():
        assert path.stat().st_size > 5000, path.name


def test_business_impact_for_binary_with_costs(stage):
    kind, _, out, _ = stage
    kind = kind.split("_")[0]
    impact = out["model_performance"].load()["business_impact"]["impact"]
    if kind != "binary":
        assert impact is None
        return
    costs = impact["expected_cost_per_1000"]
    assert set(costs) >= {"model", "flag_none (accept all)", "flag_all (reject all)"}
    assert any(k.startswith("baseline ") for k in costs)
    assert len(impact["threshold_cost_curve"]["threshold"]) == 99


def test_labels_keep_their_type_through_the_stage(stage):
    kind, catalog, _, _ = stage
    if kind == "regression":
        return
    test = catalog.load("test_features")
    truth = test.get_column("label")
    predictions = catalog.load("test_predictions")
    assert predictions.schema["predicted"] == truth.dtype, kind
    assert set(predictions["predicted"].unique().to_list()) <= set(
        truth.unique().to_list()
    )
    predicted = catalog.load("final_model").predict(test.head(5))
    assert predicted.dtype.kind == {pl.Boolean: "b", pl.Float64: "f"}.get(
        truth.dtype, "O"
    )


def test_a_failing_analysis_is_reported_not_fatal(stage, monkeypatch):
    from model_training.lib.assessment import fairness
    from model_training.pipelines.evaluation import nodes

    kind, catalog, _, _ = stage
    if kind != "binary":
        return

    def broken(*_args, **_kwargs):
        raise RuntimeError("fairlearn exploded")

    monkeypatch.setattr(fairness, "assess", broken)
    report = nodes.assess_fairness(
        catalog.load("modeling_plan"),
        catalog.load("test_features"),
        catalog.load("test_predictions"),
        EVALUATION,
    )
    assert report == {
        "attributes": {},
        "status": "failed",
        "error": "RuntimeError: fairlearn exploded",
    }


def test_test_split_is_read_by_evaluation_only():
    readers = {
        name
        for name, pipeline in register_pipelines().items()
        if name != "__default__" and "test_features" in pipeline.inputs()
    }
    assert readers == {"evaluation"}
    evaluation = register_pipelines()["evaluation"]
    first = [n for n in evaluation.nodes if "test_features" in n.inputs]
    assert "check_test_split" in {n.name for n in first}


def test_shap_values_add_up_to_model_output():
    """TreeExplainer on the fitted pipeline: base + sum of SHAP = the model's output toward the positive class."""
    from model_training.lib.algorithms.registry import algorithm, build_pipeline
    from model_training.lib.assessment.explain import split_pipeline, transform
    from model_training.lib.assessment.shap_explain import shap_values
    from model_training.lib.core.frames import split_xy
    from model_training.lib.core.plan import build_plan

    parts, schema, spec = _epic("binary")
    plan = build_plan(spec, schema, parts["train"])
    x, y = split_xy(parts["train"], plan)
    x_test, _ = split_xy(parts["test"], plan)
    for name, params in (
        ("catboost", {"iterations": 40, "depth": 3}),
        ("random_forest", {"n_estimators": 30}),
    ):
        model = build_pipeline(plan, algorithm("classification", name), params, 0).fit(
            x, y
        )
        result = shap_values(model, x_test, x, plan, seed=0, max_rows=25)
        steps, estimator = split_pipeline(model)
        rows = x_test[result["rows"]]
        if (
            name == "catboost"
        ):  # margin of the estimator's second class ("yes" here), log-odds
            raw = estimator.predict(
                transform(steps, rows), prediction_type="RawFormulaVal"
            )
        else:
            raw = estimator.predict_proba(transform(steps, rows))[
                :, list(estimator.classes_).index("yes")
            ]
        total = result["by_feature"].sum(axis=1).to_numpy() + result["base_value"]
        assert np.allclose(total, raw, atol=1e-6), name


def test_the_in_sample_score_and_the_throughput_use_bounded_samples(stage, monkeypatch):
    """At a million rows they had scored every training and test row for two
    figures, and refitted the baselines on every row; now a seeded sample
    (named in the report) and a bounded batch."""
    from model_training.lib.stage import evaluation

    _, catalog, _, _ = stage
    monkeypatch.setattr(evaluation, "IN_SAMPLE_MAX_ROWS", 40)
    monkeypatch.setattr(evaluation, "THROUGHPUT_ROWS", 10)
    train, validation = (
        catalog.load("train_features"),
        catalog.load("validation_features"),
    )
    result, _ = evaluation.evaluate_on_test(
        catalog.load("modeling_plan"),
        catalog.load("final_model"),
        catalog.load("final_model_info"),
        catalog.load("tuning_results"),
        train,
        validation,
        catalog.load("test_features"),
        EVALUATION,
        0,
    )
    sample = result["train_in_sample_rows"]
    assert sample["of_rows"] == train.height + validation.height
    assert 30 <= sample["rows"] <= 40
    assert result["baselines_refit_rows"] == sample  # the same sample
    primary = catalog.load("modeling_plan")["spec"]["primary_metric"]
    assert np.isfinite(result["metrics"]["train_in_sample"][primary])
    assert result["baselines_on_test"]  # refitted on it and scored on test
    assert all(np.isfinite(m[primary]) for m in result["baselines_on_test"].values())
    assert result["throughput_rows_per_s"] > 0


def test_the_package_scores_a_bounded_share_of_the_training_rows_for_monitoring(
    stage, monkeypatch
):
    """The monitoring baseline's output distribution comes from every k-th
    training row, at most OUTPUT_ROWS of them; the count is recorded."""
    from model_training.lib.stage import reporting

    _, catalog, out, _ = stage
    monkeypatch.setattr(reporting, "OUTPUT_ROWS", 10)
    train, validation = (
        catalog.load("train_features"),
        catalog.load("validation_features"),
    )
    package = reporting.build_model_package(
        catalog.load("modeling_plan"),
        catalog.load("final_model"),
        catalog.load("final_model_info"),
        out["model_performance"].load(),
        catalog.load("test_evaluation"),
        catalog.load("test_predictions"),
        catalog.load("data_quality_report"),
        catalog.load("baseline_results"),
        train,
        validation,
        conf_params("reporting"),
    )
    scored = package["monitoring_baseline"]["prediction_stats"]["train_predictions"]
    assert scored["rows_scored"] <= 10 < train.height + validation.height
