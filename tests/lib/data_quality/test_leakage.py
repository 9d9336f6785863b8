"""Overlap and leakage checks."""

from __future__ import annotations

import polars as pl

from tests.lib.data_quality.test_checks import TRAIN, blocking_message, checks_by_name


def test_leakage_screen_blocks_a_target_copy(frames, schema, spec, thresholds):
    def leak(frame):
        return frame.with_columns(
            pl.when(pl.col("label") == "bad").then(1.0).otherwise(0.0).alias("amount")
        )

    frames = {k: leak(v) for k, v in frames.items()}
    message = blocking_message(frames, schema, spec, thresholds)
    assert f"{TRAIN}, column 'amount': predicts 'label' almost perfectly" in message
    assert "leakage_blocks: false" in message
    checks = checks_by_name(
        frames, schema, spec, thresholds.model_copy(update={"leakage_blocks": False})
    )
    assert checks["leakage"].status == "warn"


def test_overlap_with_train_and_identifier_like_columns_are_named(
    frames, schema, spec, thresholds
):
    frames["train"] = frames["train"].with_columns(
        pl.format("cust-{}", pl.int_range(pl.len())).alias("segment")
    )
    frames["validation"] = pl.concat([frames["validation"], frames["train"].head(3)])
    checks = checks_by_name(frames, schema, spec, thresholds)
    duplicates = checks["duplicates"]
    assert "also occur in train" in duplicates.message
    assert "validation_features.csv lines 26, 27, 28" in duplicates.message
    identifier = checks["identifier_like"]
    assert "'segment' (100% distinct)" in identifier.message
    assert "set their role to identifier" in identifier.message


def test_the_lookup_score_sees_a_leak_for_every_supervised_kind():
    """A feature that copies the target scores near 1 (ROC-AUC, accuracy, R²);
    noise scores near chance; an unseen value falls back to the prior."""
    import numpy as np
    import polars as pl

    from model_training.lib.core.spec import ModelingSpec
    from model_training.lib.data_quality.leakage import single_feature_score

    rng = np.random.default_rng(0)
    n = 600
    for kind, y in (
        ("binary_classification", rng.choice(["a", "b"], n)),
        ("multiclass_classification", rng.choice(["a", "b", "c"], n)),
        ("regression", rng.normal(size=n)),
    ):
        spec = ModelingSpec(
            epic_id="e",
            problem_type=kind,
            target="y",
            primary_metric="rmse" if kind == "regression" else "accuracy",
            **({"positive_class": "b"} if kind.startswith("binary") else {}),
        )
        leak = pl.Series(y if kind == "regression" else y.astype(str))
        noise = pl.Series(
            [rng.choice(["p", "q"]) if rng.random() > 0.1 else None for _ in range(n)],
            dtype=pl.String,
        )
        half = n // 2
        high = single_feature_score(leak[:half], y[:half], leak[half:], y[half:], spec)
        low = single_feature_score(noise[:half], y[:half], noise[half:], y[half:], spec)
        assert high > (0.85 if kind == "regression" else 0.95), kind  # 20 bins
        assert low < 0.65, kind


def test_a_large_split_is_screened_on_a_sample(
    frames, schema, spec, thresholds, monkeypatch
):
    from model_training.lib.data_quality import leakage

    monkeypatch.setattr(leakage, "LEAKAGE_TRAIN_ROWS", 40)
    monkeypatch.setattr(leakage, "LEAKAGE_VALID_ROWS", 20)
    checks = checks_by_name(frames, schema, spec, thresholds)
    assert checks["leakage"].details["sample"] == "40 training and 20 validation rows"


def _rows():
    train = pl.DataFrame(
        {
            "n": [1, 2, 2, 3, None, None],
            "c": ["a", "b", "b", "c", "d", "d"],
        }
    )
    # the same values read as floats in the held-out split
    held = pl.DataFrame({"n": [2.0, 5.0, None, 1.0], "c": ["b", "b", "d", "z"]})
    return train, held


def test_duplicates_are_found_by_hash_and_confirmed_in_full(monkeypatch):
    """Within a split and across splits, missing values equal, integers equal
    to the same floats; the same answer when every row hashes alike (the full
    comparison decides)."""
    from model_training.lib.data_quality import leakage

    train, held = _rows()
    rows = {
        k: leakage.comparable_rows(f, ["n", "c"])
        for k, f in (("t", train), ("h", held))
    }
    assert leakage.duplicated_rows(rows["t"]) == 4
    assert leakage.rows_also_in(rows["h"], rows["t"]) == [0, 2]
    monkeypatch.setattr(
        pl.DataFrame,
        "hash_rows",
        lambda self, seed=0: pl.Series([7] * self.height, dtype=pl.UInt64),
    )
    assert leakage.duplicated_rows(rows["t"]) == 4
    assert leakage.rows_also_in(rows["h"], rows["t"]) == [0, 2]
    assert leakage.duplicated_rows(rows["h"]) == 0


def test_a_strong_feature_perfect_on_a_small_validation_split_warns_not_blocks(
    schema, spec, thresholds
):
    """Iris-like: 'amount' separates the classes except for an overlap, and
    the 30 validation rows happen to miss the overlap, so it scores 1.000
    there. On so few rows that is no proof of leakage: across the training
    rows the feature is strong but imperfect, and the screen warns with both
    figures instead of stopping the run. A copy of the target still blocks
    (test_leakage_screen_blocks_a_target_copy)."""
    import numpy as np

    from model_training.lib.data_quality.leakage import conclusive_rows
    from tests.conftest import make_frame

    assert conclusive_rows(0.98) == 149
    rng = np.random.default_rng(3)

    def strong(frame, overlap: float):
        bad = (frame.get_column("label") == "bad").to_numpy()
        amount = np.where(
            bad, rng.uniform(60, 100, len(bad)), rng.uniform(0, 40, len(bad))
        )
        flip = rng.random(len(bad)) < overlap  # the overlap: drawn from the middle
        amount[flip] = rng.uniform(30, 70, flip.sum())
        return frame.with_columns(pl.Series("amount", amount.round(2)))

    whole = make_frame(150, seed=4)
    frames = {
        "train": strong(whole[:120], 0.25),
        "validation": strong(whole[120:], 0.0),
    }
    check = checks_by_name(frames, schema, spec, thresholds)["leakage"]
    assert check.status == "warn", check.message
    assert check.columns == ["amount"]
    assert "on the 30 validation rows (ROC-AUC 1.000)" in check.message
    assert "too few rows to tell leakage from a strong feature" in check.message
    halves = check.details["single_feature_training_halves_score"]["amount"]
    assert halves < thresholds.leakage_score


def test_groups_seen_in_train_and_a_held_out_split_are_named(
    frames, schema, spec, thresholds
):
    from tests.lib.data_quality.test_checks import with_spec

    grouped = with_spec(spec, group_column="segment")  # a few shared values
    check = checks_by_name(frames, schema, grouped, thresholds)["group_overlap"]
    assert check.status == "warn"
    shared = frames["validation"].get_column("segment").unique().len()
    assert f"{shared} of the {shared} groups in " in check.message
    assert "--group-column segment" in check.message
    assert check.details["groups_also_in_train"]["validation"] == shared
    apart = {
        name: frame.with_columns(pl.format(name + "-{}", "segment").alias("segment"))
        for name, frame in frames.items()
    }
    check = checks_by_name(apart, schema, grouped, thresholds)["group_overlap"]
    assert check.status == "pass"
    assert check.details["groups_also_in_train"] == {"validation": 0, "test": 0}
    assert "group_overlap" in checks_by_name(frames, schema, spec, thresholds)
