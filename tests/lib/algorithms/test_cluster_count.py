"""The number of clusters by a consensus of internal criteria and stability."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_blobs

from model_training.lib.algorithms.cluster_count import cluster_count_evidence
from model_training.lib.figures.clustering import cluster_count_criteria


@pytest.mark.parametrize("true_k", [2, 4, 6])
def test_well_separated_clusters_are_counted(true_k):
    angles = np.linspace(0, 2 * np.pi, true_k, endpoint=False)
    centres = 10 * np.column_stack([np.cos(angles), np.sin(angles)])
    rows, _ = make_blobs(
        n_samples=300, centers=centres, cluster_std=0.8, random_state=3
    )
    evidence = cluster_count_evidence(rows, 2, 8, resamples=4, max_rows=2000, seed=0)
    assert evidence["k"] == true_k
    assert [row["k"] for row in evidence["table"]] == list(range(2, 9))
    assert set(evidence["k_by_criterion"]) == {
        "silhouette",
        "calinski_harabasz",
        "davies_bouldin",
        "stability",
    }
    best = min(evidence["table"], key=lambda r: r["mean_rank"])
    assert best["k"] == true_k and "label column is never used" in evidence["rule"]


def test_the_range_is_capped_by_the_rows_and_large_data_is_subsampled():
    rows, _ = make_blobs(n_samples=3000, centers=3, random_state=0)
    evidence = cluster_count_evidence(rows, 2, 5, resamples=2, max_rows=500, seed=0)
    assert evidence["rows_used"] == 500 and evidence["k"] == 3
    few = cluster_count_evidence(rows[:5], 2, 10, resamples=2, max_rows=500, seed=0)
    assert max(r["k"] for r in few["table"]) == 4
    with pytest.raises(ValueError, match="too few"):
        cluster_count_evidence(rows[:2], 2, 10, resamples=2, max_rows=500, seed=0)


def test_the_figure_shows_every_criterion_against_k():
    rows, _ = make_blobs(n_samples=200, centers=3, random_state=0)
    evidence = cluster_count_evidence(rows, 2, 6, resamples=2, max_rows=500, seed=0)
    fig = cluster_count_criteria(evidence)
    assert len(fig.axes) == 4
    for ax in fig.axes:
        assert list(ax.lines[0].get_xdata()) == [2, 3, 4, 5, 6]
    assert "consensus k = 3" in fig._suptitle.get_text()
    assert np.isfinite([r["stability"] for r in evidence["table"]]).all()
