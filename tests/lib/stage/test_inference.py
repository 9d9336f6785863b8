"""Scoring new rows: a few rows run on one OpenMP thread, a batch on the run's."""

from __future__ import annotations

import numpy as np
import polars as pl


def test_a_few_rows_are_scored_on_one_openmp_thread(xor_setup):
    from sklearn.utils._openmp_helpers import _openmp_effective_n_threads
    from threadpoolctl import threadpool_limits

    from model_training.lib.core.params import InferenceParams
    from model_training.lib.stage.inference import score_new_data

    parts, _, _, plan = xor_setup
    seen: list[int] = []

    class Recording:
        classes_ = np.array(["no", "yes"])

        def predict_proba(self, x: pl.DataFrame) -> np.ndarray:
            seen.append(_openmp_effective_n_threads())
            return np.full((x.height, 2), 0.5)

        def labels_for(self, proba: np.ndarray) -> np.ndarray:
            return self.classes_[np.argmax(proba, axis=1)]

    package = {"model": Recording(), "metadata": {}, "version": 1}
    rows = parts["train"]  # more than 65 rows
    with threadpool_limits(limits=2, user_api="openmp"):
        one = score_new_data(
            package,
            rows.head(1),
            plan.model_dump(mode="json"),
            InferenceParams(input="the request"),
        )
        many = score_new_data(
            package,
            rows.head(65),
            plan.model_dump(mode="json"),
            InferenceParams(input="the request"),
        )
    assert seen == [1, 2]
    assert (one.height, many.height) == (1, 65)
