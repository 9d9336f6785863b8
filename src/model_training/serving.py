"""The model MLflow registers and serves: the package behind the inference
pipeline's own scoring.

``mlflow models serve`` and ``mlflow.pyfunc.load_model(...).predict(frame)``
answer with the same table as ``kedro run --pipelines inference``: identifier
columns, the decision at the chosen threshold (``predicted``), the class
probabilities (``score_<class>``), a ``warnings`` column naming categories the
model never saw, the package version and the threshold. Input problems (a
missing column, text in a numeric column) end in the inference pipeline's one
message. The fitted model itself stays reachable as ``.model`` (the
package's ``model_v{N}.joblib`` holds the same object).
"""

from __future__ import annotations

from typing import Any

import mlflow.pyfunc

from model_training import type_hint_request_unsaid

# MLflow asks for type hints on ``predict`` when the class is defined; they
# are left out on purpose (see ``predict``)
with type_hint_request_unsaid():

    class PackagedModel(mlflow.pyfunc.PythonModel):
        """One package version as an MLflow pyfunc model."""

        def __init__(
            self,
            model: Any,
            metadata: dict[str, Any],
            version: int,
            plan: dict[str, Any],
        ) -> None:
            self.model = model
            self.metadata = metadata
            self.version = version
            self.plan = plan

        # no type hints on purpose: MLflow would validate inputs against them, and
        # the signature inferred from the input example does that already
        def predict(self, context, model_input, params=None):
            """Score a pandas (or polars) frame of feature rows; a pandas table back."""
            import polars as pl

            from model_training.lib.core.params import InferenceParams
            from model_training.lib.stage.inference import score_new_data

            frame = (
                model_input
                if isinstance(model_input, pl.DataFrame)
                else pl.from_pandas(model_input)
            )
            package = {
                "model": self.model,
                "metadata": self.metadata,
                "version": self.version,
            }
            scored = score_new_data(
                package, frame, self.plan, InferenceParams(input="the request")
            )
            return scored.to_pandas()
