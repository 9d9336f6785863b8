"""The modeling pipeline on an in-memory catalog."""

from __future__ import annotations

import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from model_training.datasets import RunClockDataset
from model_training.lib.core.errors import StageStop
from model_training.lib.training.baseline import fit_baselines
from model_training.pipelines.modeling import create_pipeline
from model_training.pipelines.modeling.nodes import shortlist_candidates
from tests.conftest import conf_params

OPTIONS = conf_params(
    "modeling",
    {
        "defaults": {
            "random_forest": {"n_estimators": 30},
            "catboost": {"iterations": 40},
        },
        "latency_repeats": 3,
        "throughput_rows": 100,
    },
)


def test_modeling_pipeline_shortlists_what_beats_the_baseline(xor_setup):
    parts, _, _, plan = xor_setup
    plan = plan.model_copy(
        update={
            "spec": plan.spec.model_copy(
                update={
                    "algorithms": ["logistic_regression", "random_forest", "catboost"]
                }
            )
        }
    )
    baselines, _ = fit_baselines(plan, parts["train"], parts["validation"], 0)
    catalog = DataCatalog(
        {
            "modeling_plan": MemoryDataset(plan.model_dump(mode="json")),
            "train_features": MemoryDataset(parts["train"]),
            "validation_features": MemoryDataset(parts["validation"]),
            "baseline_results": MemoryDataset(baselines),
            "params:modeling": MemoryDataset(OPTIONS),
            "params:seed": MemoryDataset(0),
            "params:budget": MemoryDataset(conf_params("budget")),
            "run_clock": RunClockDataset(),
        }
    )
    out = SequentialRunner().run(create_pipeline(), catalog)
    shortlist = out["shortlist"].load()
    models = out["candidate_models"].load()
    assert set(models) == {"logistic_regression", "random_forest", "catboost"}
    assert "logistic_regression" not in shortlist
    assert set(shortlist) <= {"random_forest", "catboost"} and shortlist


def test_shortlist_node_stops_without_a_viable_candidate():
    results = {
        "shortlist": [],
        "baseline": {"name": "logistic_regression", "value": 0.8},
        "trivial_baseline": {"name": "majority_class", "value": 0.8},
        "primary_metric": "roc_auc",
        "models": [{"name": "mlp", "status": "ok", "metrics": {"roc_auc": 0.7}}],
    }
    with pytest.raises(
        StageStop, match="clearly worse than the trivial baseline 'majority_class'"
    ):
        shortlist_candidates(results)
