"""The leaderboard ranks by the primary metric in its direction, keeps
validation and test apart, and shows the final model's interval."""

from __future__ import annotations

from model_training.lib.reporting.leaderboard import leaderboard, render_leaderboard


def _performance(primary: str, scores: dict[str, float], final: float) -> dict:
    return {
        "primary_metric": primary,
        "final_model": {"model": "ridge"},
        "metrics": {
            "test": {primary: final},
            "test_confidence_intervals": {
                primary: {"low": final - 1, "high": final + 1}
            },
        },
        "baselines_on_test": {"mean": {primary: final + 5}},
        "latency_ms": {"p95": 0.5},
        "comparison": {
            "rows": [
                {
                    "model": name,
                    "stage": "candidate",
                    "evaluated_on": "validation",
                    "metrics": {primary: value},
                    "fit_time_s": 0.1,
                }
                for name, value in scores.items()
            ]
            + [
                {
                    "model": "ridge",
                    "stage": "final",
                    "evaluated_on": "test",
                    "metrics": {primary: final},
                }
            ]
        },
    }


def test_lower_is_better_metrics_rank_upward_and_unscored_rows_last():
    board = leaderboard(
        _performance(
            "root_mean_squared_error",
            {"forest": 3.0, "ridge": 2.0, "broken": float("nan")},
            2.5,
        )
    )
    (title, validation), (_, test) = board["sections"]
    assert title == "on validation"
    assert [r["model"] for r in validation] == ["ridge", "forest", "broken"]
    assert [r["rank"] for r in validation] == [1, 2, 3]
    # test rows are ranked apart: the final model against the refitted baseline
    assert [(r["model"], r["stage"]) for r in test] == [
        ("ridge", "final"),
        ("mean", "baseline"),
    ]


def test_higher_is_better_metrics_rank_downward_and_the_interval_is_shown():
    board = leaderboard(_performance("roc_auc", {"a": 0.7, "b": 0.9}, 0.8))
    assert [r["model"] for r in board["sections"][0][1]] == ["b", "a"]
    text = render_leaderboard(board)
    assert "roc_auc, higher is better" in text
    assert "0.8000 (CI -0.200-1.800)" in text
    assert text.index("0.9000") < text.index("0.7000")
