"""One model's study: its start trial, the rows and folds every worker fits."""

from __future__ import annotations

from model_training.lib.training.tuning import tune_models
from tests.conftest import with_params
from tests.lib.training.test_tuning import DEFAULTS, OPTIONS, with_search


def test_start_trial_skips_a_text_default_in_a_numeric_range():
    from model_training.lib.training.study import start_params

    space = {
        "C": {"type": "float", "low": 0.01, "high": 100.0, "log": True},
        "gamma": {"type": "float", "low": 0.0001, "high": 1.0, "log": True},
    }
    start = start_params(space, {"C": 1000.0, "gamma": "scale"}, ["none"])
    assert start == {"C": 100.0}  # clamped into the range; "scale" left to sampling


def test_a_row_guard_folds_the_rows_it_fits(xor_setup, monkeypatch):
    """The modeling.row_guard override applies to tuning too, and the CV folds
    are cut from the subsampled rows themselves (not the split's first rows), so
    group, spatial and time folds match the rows that are fitted."""
    from model_training.lib.algorithms.cv import order_for_cv
    from model_training.lib.core.frames import split_xy
    from model_training.lib.training import study
    from model_training.lib.training.guards import guarded_rows

    parts, _, _, plan = xor_setup
    seen = []
    real = study.cv_splits

    def spy(frame, y, *args):
        seen.append(frame.get_column("row_id").to_list())
        return real(frame, y, *args)

    monkeypatch.setattr(study, "cv_splits", spy)
    result = tune_models(
        with_search(plan, n_trials=1, timeout_s=600),
        parts["train"],
        ["random_forest"],
        DEFAULTS,
        OPTIONS,
        3,
        row_guards={"random_forest": 100},
    )
    ordered = order_for_cv(parts["train"], plan)
    _, y = split_xy(ordered, plan)
    keep = guarded_rows(y, 100, 3, True)
    assert seen[-1] == ordered[keep].get_column("row_id").to_list()
    assert seen[-1] != ordered.get_column("row_id").to_list()[:100]
    assert result["models"][0]["note"] == (
        "tuned on a 100-row subsample (row guard or tuning.max_rows)"
    )


def test_a_skewed_target_is_tried_on_the_log_scale_and_the_search_decides():
    """On log-normal prices every regressor's search gets target_transform
    (its first two trials are the defaults on the raw and the log target); a
    log-linear truth makes ridge on
    log1p the best trial, and its configuration builds the log pipeline."""
    from model_training.lib.algorithms.target_transform import LogTargetPipeline
    from model_training.lib.training.configs import pipeline_for
    from model_training.lib.training.selection import configuration
    from tests.conftest import conf_params
    from tests.lib.algorithms.test_target_transform import price_parts_and_plan

    parts, plan = price_parts_and_plan()
    space = {"ridge": {"alpha": {"type": "float", "low": 0.01, "high": 10.0}}}
    options = conf_params(
        "tuning", {"storage": None}, replace={"search_spaces": space}, env=None
    )
    defaults = {"ridge": {"alpha": 1.0}}
    result = tune_models(plan, parts["train"], ["ridge"], defaults, options, 0)
    model = result["models"][0]
    first, second = model["children"][0]["params"], model["children"][1]["params"]
    # the defaults, then the same defaults on the log scale
    assert first["target_transform"] == "none"
    assert second == {**first, "target_transform": "log1p"}
    assert model["params"]["target_transform"] == "log1p"
    config = configuration(model, defaults)
    assert isinstance(pipeline_for(plan, config, options, 0), LogTargetPipeline)
    # tuning.target_transform: none keeps the raw target
    raw = tune_models(
        plan,
        parts["train"],
        ["ridge"],
        defaults,
        with_params(options, target_transform="none"),
        0,
    )
    assert all(
        "target_transform" not in t["params"] for t in raw["models"][0]["children"]
    )
