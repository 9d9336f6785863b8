"""Preprocessing that lives inside the model pipeline (fitted on training folds only)."""

from __future__ import annotations

from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from model_training.lib.plan import ModelingPlan

MISSING_CATEGORY = "__missing__"


def make_preprocessor(plan: ModelingPlan, *, scale: bool = True) -> ColumnTransformer:
    """Impute, scale and one-hot encode the plan's features.

    Numeric features: median imputation (with a missing-indicator) and, if
    ``scale``, standardisation. Categorical features (text): a constant
    ``__missing__`` category, then one-hot encoding that ignores categories
    unseen in training. Nothing is fitted here; the returned transformer is
    fitted as the first step of a model pipeline.
    """
    numeric_steps: list[tuple[str, object]] = [
        (
            "impute",
            SimpleImputer(
                strategy="median", add_indicator=True, keep_empty_features=True
            ),
        )
    ]
    if scale:
        numeric_steps.append(("scale", StandardScaler()))
    categorical_steps = [
        (
            "impute",
            SimpleImputer(
                strategy="constant",
                fill_value=MISSING_CATEGORY,
                keep_empty_features=True,
            ),
        ),
        ("encode", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
    ]
    transformers = []
    if plan.numeric_features:
        transformers.append(("num", Pipeline(numeric_steps), plan.numeric_features))
    if plan.categorical_features:
        transformers.append(
            ("cat", Pipeline(categorical_steps), plan.categorical_features)
        )
    return ColumnTransformer(
        transformers, remainder="drop", verbose_feature_names_out=True
    )
