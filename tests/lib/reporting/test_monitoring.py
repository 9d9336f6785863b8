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
