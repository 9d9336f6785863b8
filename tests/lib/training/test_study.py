"""One model's study: its start trial, the rows and folds every worker fits."""

from __future__ import annotations

from model_training.lib.training.tuning import tune_models
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
