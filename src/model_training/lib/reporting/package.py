"""Stage step 10: what goes into the model package besides the model itself."""

from __future__ import annotations

import hashlib
import importlib.metadata
from typing import Any

import polars as pl

from model_training.lib.core.plan import ModelingPlan

# What a package needs to load and predict: the model's own classes live in
# this project (model_training.lib.algorithms.final_model), the rest are its libraries.
RUNTIME_PACKAGES = (
    "model_training",
    "scikit-learn",
    "imbalanced-learn",
    "catboost",
    "numpy",
    "scipy",
    "pandas",
    "polars",
    "pyarrow",
    "joblib",
)


def package_versions(names: tuple[str, ...] = RUNTIME_PACKAGES) -> dict[str, str]:
    """Installed versions of the given distributions (missing ones left out)."""
    versions = {}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def requirements_text(versions: dict[str, str], python: str) -> str:
    """requirements.txt with exact pins."""
    lines = [
        f"# Exact pins to load and run this model package (Python {python}).",
        "# model_training is this project (it holds the package's calibration and",
        "# threshold wrappers): install it from the repository at the commit in the metadata.",
    ]
    lines += [f"{name}=={version}" for name, version in sorted(versions.items())]
    return "\n".join(lines) + "\n"


def frame_hash(frame: pl.DataFrame) -> str:
    """sha256 of a frame's CSV form (column order and values)."""
    return hashlib.sha256(frame.write_csv().encode()).hexdigest()


def build_metadata(
    plan: ModelingPlan,
    final_info: dict[str, Any],
    splits: dict[str, pl.DataFrame],
    train_rows: pl.DataFrame,
    performance: dict[str, Any],
    thresholds: dict[str, Any],
) -> dict[str, Any]:
    """Step 10.3's metadata (the package dataset adds version, date, hashes,
    run id, code commit and package versions)."""
    numeric = (
        train_rows.select(plan.numeric_features).cast(pl.Float64)
        if plan.numeric_features
        else None
    )
    return {
        "epic_id": plan.spec.epic_id,
        "model": final_info["model"],
        "hyperparameters": final_info["params"],
        "imbalance": final_info["imbalance"],
        "ensemble_members": final_info.get("members"),
        "feature_names": plan.features,
        "feature_order": plan.features,
        "numeric_features": plan.numeric_features,
        "categorical_features": plan.categorical_features,
        "target_variable": plan.spec.target,
        "classes": plan.classes,
        "positive_class": plan.positive_class,
        "decision_threshold": (final_info.get("threshold") or {}).get("threshold"),
        "calibration": (final_info.get("calibration") or {}).get("method"),
        "training_data_stats": {
            "n_samples": train_rows.height,
            "feature_means": {}
            if numeric is None
            else numeric.mean().row(0, named=True),
            "feature_stds": {} if numeric is None else numeric.std().row(0, named=True),
        },
        "input_hashes": {
            f"{name}_features.csv": frame_hash(frame) for name, frame in splits.items()
        },
        "performance_metrics": {
            f"test_{k}": v for k, v in performance["metrics"]["test"].items()
        },
        "spec": plan.spec.model_dump(mode="json"),
        "alert_thresholds": thresholds,
        "n_test": performance.get("n_test"),
        "known_categories": {
            c: sorted(train_rows.get_column(c).drop_nulls().unique().to_list())
            for c in plan.categorical_features
        },
    }
