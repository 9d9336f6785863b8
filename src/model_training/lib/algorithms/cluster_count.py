"""The number of clusters, chosen by evidence (stage step 4, clustering).

No single internal criterion is trusted to choose k: silhouette favours few
well-separated groups, Calinski-Harabasz grows with compact clusters, and
Davies-Bouldin can reward splitting. For each k of the range, k-means (the
reference partition) is fitted on the scaled, encoded training rows and
scored by

* silhouette (higher is better),
* Calinski-Harabasz (higher is better),
* Davies-Bouldin (lower is better),
* stability: the mean adjusted Rand index between the partition of all rows
  and the partitions that k-means fitted on bootstrap resamples assign to the
  same rows (higher is better; Ben-Hur, Elisseeff and Guyon, 2002).

Each criterion ranks the k values (1 = best, ties share the mean rank); the
chosen k has the best mean rank, and the smaller k wins a tie. The label
column is never read. The algorithms that take a number of clusters are then
tuned with k fixed to this value; density-based ones (DBSCAN) find their own.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import rankdata
from sklearn.cluster import KMeans
from sklearn.metrics import (
    adjusted_rand_score,
    calinski_harabasz_score,
    davies_bouldin_score,
    silhouette_score,
)

# name -> (function of (rows, labels), greater is better)
CRITERIA = {
    "silhouette": (silhouette_score, True),
    "calinski_harabasz": (calinski_harabasz_score, True),
    "davies_bouldin": (davies_bouldin_score, False),
}


def cluster_count_evidence(
    rows: np.ndarray,
    k_min: int,
    k_max: int,
    resamples: int,
    max_rows: int,
    seed: int,
) -> dict[str, Any]:
    """The criteria for every k in ``[k_min, k_max]`` and the consensus k.

    Args:
        rows: the training rows as the clusterers see them (scaled, encoded).
        k_min, k_max: the range of k (capped below the number of rows).
        resamples: bootstrap resamples for the stability criterion.
        max_rows: rows above this are subsampled (silhouette is quadratic).
        seed: random seed.

    Returns:
        ``k`` (the consensus), ``table`` (per k: each criterion, its rank and
        the mean rank), ``rule`` (in words) and ``rows_used``.
    """
    rng = np.random.default_rng(seed)
    data = np.asarray(rows, dtype=float)
    if len(data) > max_rows:
        data = data[np.sort(rng.choice(len(data), max_rows, replace=False))]
    k_max = min(k_max, len(data) - 1)
    if k_max < k_min:
        raise ValueError(
            f"{len(data)} rows are too few to compare {k_min} or more clusters"
        )
    ks = list(range(k_min, k_max + 1))
    values: dict[str, list[float]] = {name: [] for name in [*CRITERIA, "stability"]}
    for k in ks:
        labels = KMeans(k, n_init=4, random_state=seed).fit_predict(data)
        for name, (criterion, _) in CRITERIA.items():
            values[name].append(float(criterion(data, labels)))
        values["stability"].append(_stability(data, labels, k, resamples, seed))
    ranks = {
        name: rankdata(
            [-v for v in series] if _greater(name) else series, method="average"
        )
        for name, series in values.items()
    }
    mean_rank = np.mean([ranks[name] for name in values], axis=0)
    chosen = ks[int(np.argmin(mean_rank))]  # argmin keeps the smaller k on ties
    table = [
        {
            "k": k,
            **{name: values[name][i] for name in values},
            **{f"{name}_rank": float(ranks[name][i]) for name in values},
            "mean_rank": float(mean_rank[i]),
        }
        for i, k in enumerate(ks)
    ]
    by_criterion = {name: ks[int(np.argmin(ranks[name]))] for name in values}
    return {
        "k": chosen,
        "k_by_criterion": by_criterion,
        "table": table,
        "rows_used": len(data),
        "resamples": resamples,
        "rule": (
            f"k = {chosen}: the best mean rank over silhouette, Calinski-Harabasz, "
            f"Davies-Bouldin and bootstrap stability of k-means partitions for k in "
            f"{k_min}..{k_max} (each criterion alone: "
            + ", ".join(f"{n} {k}" for n, k in by_criterion.items())
            + "); the label column is never used"
        ),
    }


def _greater(name: str) -> bool:
    return name == "stability" or CRITERIA[name][1]


def _stability(
    data: np.ndarray, labels: np.ndarray, k: int, resamples: int, seed: int
) -> float:
    """Mean adjusted Rand index between the full partition and the partitions
    of k-means fitted on bootstrap resamples, on all rows."""
    rng = np.random.default_rng(seed + k)
    scores = []
    for b in range(resamples):
        sample = data[rng.choice(len(data), len(data), replace=True)]
        model = KMeans(k, n_init=2, random_state=seed + b).fit(sample)
        scores.append(adjusted_rand_score(labels, model.predict(data)))
    return float(np.mean(scores))
