"""The tuning pipeline on an in-memory catalog, and the final model it produces."""

from __future__ import annotations

import numpy as np
import polars as pl
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from model_training.datasets import RunClockDataset
from model_training.lib.algorithms.final_model import ThresholdedClassifier
from model_training.lib.core.frames import split_xy
from model_training.lib.core.plan import build_plan
from model_training.lib.core.spec import ModelingSpec
from model_training.lib.training.final_fit import fit_final
from model_training.pipelines.tuning import create_pipeline
from tests.conftest import conf_params

_TUNING_RAW = {
    "storage": None,
    "search_spaces": {
        "random_forest": {"max_depth": {"type": "int", "low": 2, "high": 8}},
        "catboost": {"depth": {"type": "int", "low": 2, "high": 5}},
    },
    "calibration": {
        "enabled": True,
        "methods": ["sigmoid", "isotonic"],
        "min_rows_isotonic": 500,
    },
}
TUNING = conf_params(
    "tuning",
    {k: v for k, v in _TUNING_RAW.items() if k != "search_spaces"},
    replace={"search_spaces": _TUNING_RAW.get("search_spaces", {})},
)
MODELING = conf_params(
    "modeling",
    {
        "defaults": {
            "random_forest": {"n_estimators": 30},
            "catboost": {"iterations": 40},
        }
    },
)


class _Kept(MemoryDataset):
    """A memory dataset the runner does not empty once its readers are done."""

    def _release(self) -> None:
        pass


def test_tuning_pipeline_selects_refits_calibrates_and_thresholds(xor_setup):
    parts, _, _, plan = xor_setup
    catalog = DataCatalog(
        {
            "modeling_plan": MemoryDataset(plan.model_dump(mode="json")),
            "train_features": MemoryDataset(parts["train"]),
            "validation_features": MemoryDataset(parts["validation"]),
            "shortlist": MemoryDataset(["random_forest", "catboost"]),
            "candidate_results": MemoryDataset({"models": []}),
            "params:modeling": MemoryDataset(MODELING),
            "params:tuning": MemoryDataset(TUNING),
            "params:seed": MemoryDataset(0),
            "params:budget": MemoryDataset(conf_params("budget")),
            "run_clock": RunClockDataset(),
            "model_selection": _Kept(),
        }
    )
    out = SequentialRunner().run(create_pipeline(), catalog)
    model = out["final_model"].load()
    info = out["final_model_info"].load()
    assert isinstance(model, ThresholdedClassifier)
    assert info["refit_on"] == "train+validation" and info["n_rows"] == 240
    assert info["model"] in ("random_forest", "catboost")
    assert 0 < info["threshold"]["threshold"] < 1
    assert info["threshold"]["chosen_by"].startswith("minimum expected cost")
    assert {"ece_before", "ece_after", "method"} <= set(info["calibration"])
    assert info["oof_metrics"]["roc_auc"] > 0.75  # trees solve the XOR
    x_valid, _ = split_xy(parts["validation"], plan)
    predicted = model.predict(x_valid)
    p_yes = model.predict_proba(x_valid)[:, list(model.classes_).index("yes")]
    assert np.array_equal(predicted == "yes", p_yes >= info["threshold"]["threshold"])
    # the selection's out-of-fold predictions were reused, and refitting the
    # same folds decides exactly the same calibration and threshold
    selection = catalog.load("model_selection")
    if not selection["selected"].get("members"):
        assert info["out_of_fold_from"] == "the selection's folds (no refit)"
        _, refitted = fit_final(
            plan, parts["train"], parts["validation"], selection, TUNING, 0
        )
        assert refitted["out_of_fold_from"] == "refits on the folds"
        assert refitted["threshold"] == info["threshold"]
        assert refitted["calibration"] == info["calibration"]


def test_regression_final_model_keeps_residual_quantiles(frames, schema):
    data = {
        k: v.with_columns((pl.col("amount") * 0.01 + pl.col("age")).alias("target"))
        for k, v in frames.items()
    }
    columns = [
        *schema.columns,
        schema.columns[1].model_copy(update={"name": "target", "role": "target"}),
    ]
    schema = schema.model_copy(update={"columns": columns})
    spec = ModelingSpec(
        epic_id="tiny",
        problem_type="regression",
        target="target",
        primary_metric="rmse",
        id_columns=["row_id", "label"],
        cross_validation={"n_splits": 3},
    )
    plan = build_plan(spec, schema, data["train"])
    selection = {
        "selected": {"model": "ridge", "params": {"alpha": 1.0}, "imbalance": "none"}
    }
    model, info = fit_final(
        plan, data["train"], data["validation"], selection, conf_params("tuning"), 0
    )
    quantiles = info["absolute_residual_quantiles"]
    assert quantiles["0.8"] <= quantiles["0.9"] <= quantiles["0.95"]
    assert info["oof_metrics"]["r2"] > 0.9
    x, _ = split_xy(data["test"], plan)
    assert model.predict(x).shape == (x.height,)
