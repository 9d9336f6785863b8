"""Optuna tuning: reproducible, within budget, resilient to failures, resumable."""

from __future__ import annotations

import pytest

from model_training.lib.training.tuning import tune_models
from tests.conftest import conf_params, with_params

_OPTIONS_RAW = {
    "storage": None,
    "pruner": {"n_startup_trials": 2, "n_warmup_steps": 1},
    "search_spaces": {
        "logistic_regression": {
            "C": {"type": "float", "low": 0.01, "high": 10.0, "log": True}
        },
        "random_forest": {
            "n_estimators": {"type": "int", "low": 10, "high": 30, "step": 10},
            "max_depth": {"type": "int", "low": 2, "high": 6},
        },
    },
}
OPTIONS = conf_params(
    "tuning",
    {k: v for k, v in _OPTIONS_RAW.items() if k != "search_spaces"},
    replace={"search_spaces": _OPTIONS_RAW.get("search_spaces", {})},
    env=None,
)
DEFAULTS = {"logistic_regression": {"C": 1.0}, "random_forest": {"n_estimators": 20}}


def with_search(plan, **search):
    spec = plan.spec.model_copy(
        update={"search": plan.spec.search.model_copy(update=search)}
    )
    return plan.model_copy(update={"spec": spec})


def test_same_seed_same_trials_and_best(xor_setup):
    parts, _, _, plan = xor_setup
    plan = with_search(plan, n_trials=4)
    first = tune_models(
        plan, parts["train"], ["random_forest"], DEFAULTS, OPTIONS, seed=3
    )
    again = tune_models(
        plan, parts["train"], ["random_forest"], DEFAULTS, OPTIONS, seed=3
    )
    a, b = first["models"][0], again["models"][0]
    assert a["params"] == b["params"]
    assert a["metrics"] == b["metrics"]
    assert [t["params"] for t in a["children"]] == [t["params"] for t in b["children"]]
    other = tune_models(
        plan, parts["train"], ["random_forest"], DEFAULTS, OPTIONS, seed=4
    )
    assert [t["params"] for t in other["models"][0]["children"]] != [
        t["params"] for t in a["children"]
    ]


def test_first_trial_is_the_default_and_best_is_no_worse(xor_setup):
    parts, _, _, plan = xor_setup
    result = tune_models(
        with_search(plan, n_trials=5),
        parts["train"],
        ["random_forest"],
        DEFAULTS,
        OPTIONS,
        0,
    )
    model = result["models"][0]
    assert model["children"][0]["params"]["n_estimators"] == 20
    assert model["metrics"]["cv_mean"] >= model["metrics"]["default_cv_mean"]
    trial = model["children"][0]
    assert set(trial["fold_scores"]) == {"fold_0", "fold_1", "fold_2"}
    assert result["cross_validation"] == {
        "strategy": "stratified_kfold",
        "n_splits": 3,
        "gap": 0,
        "tuned_on": "train",
        "n_rows": 180,
    }
    assert "imbalance" in trial["params"]  # imbalance: auto is searched


def test_trial_budget_stops_the_search(xor_setup):
    parts, _, _, plan = xor_setup
    result = tune_models(
        with_search(plan, n_trials=2),
        parts["train"],
        ["logistic_regression"],
        DEFAULTS,
        OPTIONS,
        0,
    )
    assert result["models"][0]["n_trials"] == 2
    capped = tune_models(
        with_search(plan, n_trials=50),
        parts["train"],
        ["logistic_regression"],
        DEFAULTS,
        with_params(OPTIONS, caps={"n_trials": 3}),
        0,
    )
    assert capped["models"][0]["n_trials"] == 3


def test_time_budget_stops_the_search_and_says_so(xor_setup, caplog):
    """The clock is a safety net: when it binds, tuning.json and the log say so.
    (How close to the budget it stops is measured in bench/, not asserted here.)"""
    parts, _, _, plan = xor_setup
    plan = with_search(plan, n_trials=10_000, timeout_s=2.0)
    with caplog.at_level("WARNING"):
        result = tune_models(
            plan,
            parts["train"],
            ["logistic_regression", "random_forest"],
            DEFAULTS,
            # the logistic regression's search on the XOR is flat: it would
            # stop for that, not for the clock
            with_params(OPTIONS, flat_search=None),
            0,
        )
    assert all(m["n_complete"] >= 1 for m in result["models"])
    assert 1 <= result["models"][0]["n_trials"] < 10_000
    assert [m["stopped_by"] for m in result["models"]] == ["clock", "clock"]
    assert result["clock_bound"] == ["logistic_regression", "random_forest"]
    assert "the clock ended the search" in caplog.text


def test_past_the_deadline_the_defaults_stop_after_one_fold(xor_setup):
    """A model's start trial (its defaults) is the one trial that runs past
    the deadline, and only to the end of its first fold: the model keeps a
    result (a one-fold mean, and the reason), not a whole slow trial."""
    parts, _, _, plan = xor_setup
    plan = with_search(plan, n_trials=10, timeout_s=1e-6)
    result = tune_models(
        plan, parts["train"], ["logistic_regression"], DEFAULTS, OPTIONS, 0
    )
    model = result["models"][0]
    assert model["status"] == "ok" and model["n_complete"] == 1
    start = model["children"][0]
    assert start["state"] == "COMPLETE"
    assert len(start["fold_scores"]) == 1
    assert start["cv_mean"] == start["fold_scores"]["fold_0"]
    assert start["stopped"] == (
        "wall-clock budget: the defaults scored on 1 of "
        f"{result['cross_validation']['n_splits']} folds"
    )


def test_a_pruned_trial_logs_no_score_to_compare_with_the_best(xor_setup, caplog):
    """'pruned: MASE = 0.3959 (best 0.4507)' read as a better trial; a pruned
    trial's value is a partial mean over the folds it reached."""
    parts, _, _, plan = xor_setup
    options = with_params(OPTIONS, pruner={"n_startup_trials": 1, "n_warmup_steps": 0})
    with caplog.at_level("INFO"):
        result = tune_models(
            with_search(plan, n_trials=12, timeout_s=600),
            parts["train"],
            ["random_forest"],
            DEFAULTS,
            options,
            0,
        )
    pruned = [t for t in caplog.records if " pruned: " in t.getMessage()]
    assert result["models"][0]["n_pruned"] == len(pruned) > 0
    for record in pruned:
        assert "stopped after" in record.getMessage()
        assert "roc_auc =" not in record.getMessage()


def test_the_trial_budget_binding_is_recorded(xor_setup):
    parts, _, _, plan = xor_setup
    result = tune_models(
        with_search(plan, n_trials=2, timeout_s=600),
        parts["train"],
        ["logistic_regression"],
        DEFAULTS,
        OPTIONS,
        0,
    )
    assert result["models"][0]["stopped_by"] == "trial budget"
    assert result["clock_bound"] == []


def test_a_resumed_study_proposes_what_an_uninterrupted_one_would(xor_setup, tmp_path):
    """Interrupted after 2 trials and resumed (a new sampler, as in a new
    process), the study proposes exactly the trials of an uninterrupted one."""
    parts, _, _, plan = xor_setup

    def run(storage, n_trials):
        options = with_params(OPTIONS, storage=f"sqlite:///{storage}")
        result = tune_models(
            with_search(plan, n_trials=n_trials, timeout_s=600),
            parts["train"],
            ["random_forest"],
            DEFAULTS,
            options,
            seed=5,
        )
        return [t["params"] for t in result["models"][0]["children"]]

    uninterrupted = run(tmp_path / "one.db", 6)
    run(tmp_path / "two.db", 2)
    resumed = run(tmp_path / "two.db", 6)
    assert len(uninterrupted) == 6
    assert resumed == uninterrupted


def test_a_failing_model_is_recorded_and_the_rest_go_on(xor_setup):
    parts, _, _, plan = xor_setup
    broken = with_params(
        OPTIONS,
        search_spaces={
            "logistic_regression": {
                "C": {"type": "float", "low": -2.0, "high": -1.0, "log": False}
            }
        },
    )
    result = tune_models(
        with_search(plan, n_trials=4),
        parts["train"],
        ["logistic_regression", "random_forest"],
        DEFAULTS,
        broken,
        0,
    )
    failed, ok = result["models"]
    # its first round (half its trials) failed: no second round
    assert failed["status"] == "failed" and failed["n_failed"] == 2
    assert result["allocation"]["dropped"] == ["logistic_regression"]
    assert failed["stopped_by"] == "trial budget"  # failed trials spend it too
    assert (
        "InvalidParameterError" in failed["children"][0]["error"]
        or "C" in failed["children"][0]["error"]
    )
    assert ok["status"] == "ok" and ok["n_complete"] >= 1


def test_study_resumes_from_storage(xor_setup, tmp_path):
    parts, _, _, plan = xor_setup
    options = with_params(OPTIONS, storage=f"sqlite:///{tmp_path}/studies/optuna.db")
    first = tune_models(
        with_search(plan, n_trials=2),
        parts["train"],
        ["logistic_regression"],
        DEFAULTS,
        options,
        0,
    )
    assert (tmp_path / "studies" / "optuna.db").is_file()
    more = tune_models(
        with_search(plan, n_trials=4),
        parts["train"],
        ["logistic_regression"],
        DEFAULTS,
        options,
        0,
    )
    assert more["models"][0]["study_name"] == first["models"][0]["study_name"]
    assert [t["params"] for t in more["models"][0]["children"][:2]] == [
        t["params"] for t in first["models"][0]["children"]
    ]
    assert more["models"][0]["n_trials"] == 4  # two more, not four more
    again = tune_models(
        with_search(plan, n_trials=4),
        parts["train"],
        ["logistic_regression"],
        DEFAULTS,
        options,
        0,
    )
    assert again["models"][0]["n_trials"] == 4  # budget already spent: nothing new


@pytest.mark.parametrize("strategy", ["random", "grid"])
def test_other_samplers(strategy, xor_setup):
    parts, _, _, plan = xor_setup
    result = tune_models(
        with_search(plan, n_trials=3, strategy=strategy),
        parts["train"],
        ["logistic_regression"],
        DEFAULTS,
        OPTIONS,
        0,
    )
    model = result["models"][0]
    assert (
        model["n_trials"] == 3 and model["n_complete"] >= 1 and model["n_failed"] == 0
    )


def test_clustering_is_tuned_with_the_number_of_clusters_the_evidence_chose():
    """Four well-separated groups: every algorithm that takes a number of
    clusters is tuned with k = 4 fixed (never searched), the evidence is in
    tuning.json, and the label column plays no part."""
    import numpy as np
    import polars as pl
    from sklearn.datasets import make_blobs

    from model_training.lib.core.plan import build_plan
    from model_training.lib.core.spec import ModelingSpec
    from model_training.lib.data_quality.epic_builder import infer_schema

    angles = np.linspace(0, 2 * np.pi, 4, endpoint=False)
    rows, groups = make_blobs(
        n_samples=240,
        centers=8 * np.column_stack([np.cos(angles), np.sin(angles)]),
        random_state=0,
    )
    frame = pl.DataFrame(
        {"row_id": np.arange(240), "a": rows[:, 0], "b": rows[:, 1], "group": groups}
    )
    schema = infer_schema(
        frame, "blobs", target=None, roles={"row_id": "identifier", "group": "label"}
    )
    spec = ModelingSpec(
        epic_id="blobs",
        problem_type="clustering",
        label_column="group",
        primary_metric="silhouette",
        id_columns=["row_id"],
        cross_validation={"n_splits": 3},
        search={"n_trials": 2, "timeout_s": 600},
    )
    plan = build_plan(spec, schema, frame)
    options = conf_params("tuning", {"storage": None}, env="test")
    result = tune_models(plan, frame, ["kmeans", "gaussian_mixture"], {}, options, 0)
    assert result["cluster_count"]["k"] == 4
    kmeans, mixture = result["models"]
    assert kmeans["fixed_params"] == {"n_clusters": 4}
    assert kmeans["params"]["n_clusters"] == 4
    assert mixture["params"]["n_components"] == 4
    for trial in kmeans["children"]:
        assert "n_clusters" not in trial["params"]  # fixed, not searched


def test_three_models_share_their_trials_by_successive_halving(xor_setup):
    """The XOR is beyond a logistic regression: after half the trials it stops,
    and the forests ahead of it get the trials it did not use; the total never
    exceeds n_trials per model, and a rerun allocates the same way."""
    parts, _, _, plan = xor_setup
    # a clock that cannot bind on a busy machine: the trial budget decides
    plan = with_search(plan, n_trials=4, timeout_s=3600)
    options = with_params(
        OPTIONS,
        search_spaces={
            **_OPTIONS_RAW["search_spaces"],
            "hist_gradient_boosting": {
                "max_iter": {"type": "int", "low": 10, "high": 30, "step": 10}
            },
        },
    )
    shortlist = ["logistic_regression", "random_forest", "hist_gradient_boosting"]
    result = tune_models(plan, parts["train"], shortlist, DEFAULTS, options, seed=0)
    allocation = result["allocation"]
    assert allocation["first_round_trials"] == dict.fromkeys(shortlist, 2)
    assert "logistic_regression" in allocation["dropped"]
    trials = {m["model"]: m["n_trials"] for m in result["models"]}
    assert trials["logistic_regression"] == 2
    assert sum(trials.values()) == 12 and trials == allocation["total_trials"]
    again = tune_models(plan, parts["train"], shortlist, DEFAULTS, options, seed=0)
    assert again["allocation"] == allocation


def test_a_rerun_that_resumes_its_studies_allocates_as_the_first_run(
    xor_setup, tmp_path
):
    """The rerun's first round finds studies that already hold the second
    round's trials; it ranks the models on their first-round trials only, so
    the halving and the results are the first run's."""
    parts, _, _, plan = xor_setup
    plan = with_search(plan, n_trials=4, timeout_s=3600)
    options = with_params(OPTIONS, storage=f"sqlite:///{tmp_path}/optuna.db")
    shortlist = ["logistic_regression", "random_forest", "hist_gradient_boosting"]

    def run():
        result = tune_models(plan, parts["train"], shortlist, DEFAULTS, options, seed=0)
        return result["allocation"], [
            (m["model"], m["params"], m["metrics"]["cv_mean"], m["n_trials"])
            for m in result["models"]
        ]

    first = run()
    assert sum(first[0]["total_trials"].values()) == 12
    assert run() == first


def test_the_search_does_not_depend_on_how_many_processes_run_the_folds(
    xor_setup, monkeypatch
):
    from model_training.lib.core.threads import THREADS_ENV

    parts, _, _, plan = xor_setup
    plan = with_search(plan, n_trials=4)
    runs = []
    for threads in ("1", "2"):
        monkeypatch.setenv(THREADS_ENV, threads)
        result = tune_models(
            plan, parts["train"], ["random_forest"], DEFAULTS, OPTIONS, seed=3
        )["models"][0]
        runs.append(
            (
                result["params"],
                result["metrics"],
                [(t["params"], t.get("fold_scores")) for t in result["children"]],
            )
        )
    assert runs[0] == runs[1]


def test_a_forests_trials_fit_fewer_trees_and_its_configuration_keeps_its_own(
    xor_setup, monkeypatch
):
    from model_training.lib.training import objective
    from model_training.lib.training.selection import configuration

    parts, _, _, plan = xor_setup
    plan = with_search(plan, n_trials=3)
    built = []
    real = objective.build_pipeline

    def spy(plan, algo, params, seed, **kwargs):
        built.append(params.get("n_estimators"))
        return real(plan, algo, params, seed, **kwargs)

    monkeypatch.setattr(objective, "build_pipeline", spy)
    unsearched = OPTIONS.model_copy(
        update={
            "search_trees": 20,
            "search_spaces": {
                "random_forest": {
                    "max_depth": OPTIONS.search_spaces["random_forest"]["max_depth"]
                }
            },
        }
    )
    defaults = {"random_forest": {"n_estimators": 40}}
    result = tune_models(
        plan, parts["train"], ["random_forest"], defaults, unsearched, seed=3
    )
    entry = result["models"][0]
    assert built and set(built) == {20}
    assert entry["trial_trees"] == {
        "param": "n_estimators",
        "trials": 20,
        "configuration": 40,
    }
    assert configuration(entry, defaults)["params"]["n_estimators"] == 40
    # searched, the trees are the trial's own
    built.clear()
    searched = tune_models(
        plan,
        parts["train"],
        ["random_forest"],
        DEFAULTS,
        OPTIONS.model_copy(update={"search_trees": 10}),
        seed=3,
    )
    assert "trial_trees" not in searched["models"][0]
    assert set(built) <= {10, 20, 30} and len(set(built)) > 1


def test_two_models_in_two_rounds_try_what_each_would_alone(xor_setup):
    """Two models go in two rounds (half their trials, then the rest); with
    the trial budget binding, each model's trials are the ones a tuning of
    that model alone would run."""
    parts, _, _, plan = xor_setup
    plan = with_search(plan, n_trials=4, timeout_s=3600)
    options = with_params(OPTIONS, flat_search=None)
    shortlist = ["random_forest", "logistic_regression"]
    both = tune_models(plan, parts["train"], shortlist, DEFAULTS, options, seed=0)
    assert both["allocation"]["first_round_trials"] == dict.fromkeys(shortlist, 2)
    assert both["allocation"]["total_trials"] == dict.fromkeys(shortlist, 4)
    for result in both["models"]:
        alone = tune_models(
            plan, parts["train"], [result["model"]], DEFAULTS, options, seed=0
        )
        assert "allocation" not in alone
        (single,) = alone["models"]
        assert [t["params"] for t in result["children"]] == [
            t["params"] for t in single["children"]
        ]
        assert result["metrics"] == single["metrics"]


def test_a_flat_search_stops_and_its_trials_go_to_the_others(xor_setup):
    """A logistic regression cannot separate the XOR: whatever its C, it
    scores about the same, so it stops once four completed trials say so (in
    its first round of five) and the forest gets the trials it left."""
    parts, _, _, plan = xor_setup
    plan = with_search(plan, n_trials=10, timeout_s=3600)
    # nothing pruned: every trial completes and counts; flat within 5 % (the
    # XOR's logistic regressions score 0.566 to 0.585, the forests 0.74 to 0.85)
    options = with_params(
        OPTIONS,
        pruner={"n_startup_trials": 50, "n_warmup_steps": 1},
        flat_search=0.05,
    )
    shortlist = ["random_forest", "logistic_regression"]
    result = tune_models(plan, parts["train"], shortlist, DEFAULTS, options, seed=0)
    allocation = result["allocation"]
    assert allocation["first_round_trials"] == {
        "random_forest": 5,
        "logistic_regression": 4,
    }
    assert list(allocation["flat"]) == ["logistic_regression"]
    evidence = allocation["flat"]["logistic_regression"]
    assert evidence["completed_trials"] == 4
    assert evidence["span"] < evidence["limit"]
    assert allocation["total_trials"] == {"random_forest": 16, "logistic_regression": 4}
    models = {m["model"]: m for m in result["models"]}
    assert {m: r["n_trials"] for m, r in models.items()} == allocation["total_trials"]
    lr = models["logistic_regression"]
    assert lr["stopped_by"] == "flat search" and lr["flat_search"] == evidence
    assert models["random_forest"]["stopped_by"] == "trial budget"
    # the same without the rule: every model its whole budget
    off = tune_models(
        plan,
        parts["train"],
        shortlist,
        DEFAULTS,
        with_params(options, flat_search=None),
        seed=0,
    )
    assert off["allocation"]["total_trials"] == dict.fromkeys(shortlist, 10)


@pytest.mark.parametrize("stored", [False, True])
def test_a_first_trial_that_shows_the_refit_is_due_ends_the_search(
    xor_setup, stored, tmp_path
):
    """Nothing projects a refit before tuning (no candidate fit recorded),
    so the tuning checkpoint is far off; the first trial of the first model
    then projects its refit on a billion rows, whose reserve is due at once:
    no further trial starts, of that model or the next (whose first trial,
    its defaults, still runs). Without the run budget both run their ten.
    With a stored study, the wait for other workers' trials does not run the
    slots left either (at a million rows it did: a 100 s LightGBM trial)."""
    import time

    from model_training.lib.core.budget import Budget

    parts, _, _, plan = xor_setup
    plan = with_search(plan, n_trials=10, timeout_s=3600)
    storage = f"sqlite:///{tmp_path}/optuna.db" if stored else None
    options = with_params(OPTIONS, flat_search=None, storage=storage)
    shortlist = ["random_forest", "logistic_regression"]
    budget = Budget(
        time_s=10_000.0,
        started=time.time(),
        checkpoints={"candidates": 0.2, "tuning": 0.65, "selection": 0.82},
    )
    huge = {"rows": {"train": 10**9, "validation": 0}, "models": []}
    result = tune_models(
        plan,
        parts["train"],
        shortlist,
        DEFAULTS,
        options,
        0,
        budget=budget,
        candidates=huge,
    )
    assert [m["n_trials"] for m in result["models"]] == [1, 1]
    assert result["run_budget"]["bound"] is True
    assert result["run_budget"]["reserved_s"] > budget.time_s
    fresh = with_params(options, storage=storage and f"{storage[:-3]}-free.db")
    free = tune_models(
        plan, parts["train"], shortlist, DEFAULTS, fresh, 0, candidates=huge
    )
    assert [m["n_trials"] for m in free["models"]] == [10, 10]


def test_a_fold_score_that_is_undefined_is_not_reported_to_the_pruner(
    xor_setup, monkeypatch
):
    """A clustering fold with fewer than two clusters scores NaN; reported,
    it made Optuna's pruner take the maximum of NaN steps and print NumPy's
    "All-NaN slice encountered" into the run's log. NaN steps are not
    reported; the trial is still pruned as undefined, and the others run."""
    import math
    import warnings

    from model_training.lib.training import objective

    parts, _, _, plan = xor_setup
    real = objective.fold_scores
    calls = {"n": 0}

    def sometimes_undefined(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] % 2:
            return real(*args, **kwargs)
        report = args[7]
        for fold in range(len(args[3])):
            report(fold, float("nan"))
        return [float("nan")] * len(args[3])

    monkeypatch.setattr(objective, "fold_scores", sometimes_undefined)
    options = with_params(OPTIONS, pruner={"n_startup_trials": 1, "n_warmup_steps": 0})
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        result = tune_models(
            with_search(plan, n_trials=6, timeout_s=600),
            parts["train"],
            ["logistic_regression"],
            DEFAULTS,
            options,
            0,
        )
    entry = result["models"][0]
    assert entry["status"] == "ok" and math.isfinite(entry["metrics"]["cv_mean"])
    undefined = [
        t for t in entry["children"] if "undefined" in str(t.get("stopped", ""))
    ]
    assert len(undefined) == 3
