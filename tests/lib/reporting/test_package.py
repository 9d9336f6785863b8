"""The versioned model package: side-by-side versions, atomic writes, integrity, card, monitoring."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from model_training.datasets.package import ModelPackageDataset, PackageIntegrityError
from model_training.lib.core.errors import find_user_error
from model_training.lib.reporting.monitoring import (
    feature_statistics,
    population_stability_index,
)


def package(model, card_inputs):
    return {
        "model": model,
        "preprocessing": {"steps": []},
        "metadata": {
            "feature_names": ["a"],
            "alert_thresholds": {"psi_threshold": 0.2},
            "classes": [0, 1],
        },
        "monitoring_baseline": {"epic_id": "x"},
        "card": card_inputs,
    }


@pytest.fixture
def card_inputs(monkeypatch):
    import model_training.datasets.package as module

    monkeypatch.setattr(
        module,
        "render",
        lambda metadata, **kw: f"card v{metadata['model_version']} {kw['note']}\n",
    )
    return {"note": "roc 0.81"}


def test_versions_side_by_side_and_latest_copies(tmp_path, card_inputs):
    dataset = ModelPackageDataset(filepath=str(tmp_path / "models"))
    first = LogisticRegression().fit(np.array([[0.0], [1.0]]), [0, 1])
    dataset.save(package(first, card_inputs))
    v1_files = {p.name: p.read_bytes() for p in (tmp_path / "models").iterdir()}
    dataset.save(package(first, {"note": "roc 0.82"}))
    names = {p.name for p in (tmp_path / "models").iterdir()}
    models = [n for n in names if n.startswith("model_v") and n.endswith(".joblib")]
    assert len(models) == 2
    assert {f"{n}.sig" for n in models} <= names  # every pickle is signed
    for name, content in v1_files.items():
        if "_v1" in name:
            assert (tmp_path / "models" / name).read_bytes() == content  # v1 untouched
    assert (tmp_path / "models" / "model_card.md").read_text() == "card v2 roc 0.82\n"
    loaded = dataset.load()
    assert loaded["version"] == 2
    metadata = loaded["metadata"]
    assert metadata["model_version"] == 2
    assert set(metadata["artifacts"]) >= {
        "model",
        "preprocessing",
        "requirements",
        "monitoring_baseline",
        "model_card",
    }
    assert "scikit-learn" in metadata["package_versions"]
    assert "scikit-learn==" in (tmp_path / "models" / "requirements.txt").read_text()
    assert (
        ModelPackageDataset(filepath=str(tmp_path / "models"), model_version=1).load()[
            "version"
        ]
        == 1
    )
    assert not list((tmp_path / "models").glob(".staging-*"))


def test_failure_midway_leaves_the_previous_package(tmp_path, card_inputs):
    dataset = ModelPackageDataset(filepath=str(tmp_path / "models"))
    dataset.save(package(LogisticRegression(), card_inputs))
    before = {p.name: p.read_bytes() for p in (tmp_path / "models").iterdir()}
    broken = package(LogisticRegression(), card_inputs)
    broken["monitoring_baseline"] = {
        "bad": object()
    }  # not JSON: fails after the model was written
    with pytest.raises(Exception, match="not JSON serializable"):
        dataset.save(broken)
    after = {p.name: p.read_bytes() for p in (tmp_path / "models").iterdir()}
    assert after == before


def test_tampered_artifact_is_refused_before_unpickling(
    tmp_path, card_inputs, monkeypatch
):
    dataset = ModelPackageDataset(filepath=str(tmp_path / "models"))
    dataset.save(package(LogisticRegression(), card_inputs))
    model_file = next((tmp_path / "models").glob("model_v1_*.joblib"))
    model_file.write_bytes(model_file.read_bytes() + b"tampered")
    import joblib

    monkeypatch.setattr(
        joblib, "load", lambda *a, **k: pytest.fail("a tampered file was unpickled")
    )
    with pytest.raises(Exception) as caught:
        dataset.load()
    error = find_user_error(caught.value)
    assert isinstance(error, PackageIntegrityError)
    assert "does not match" in str(error) and "it was not loaded" in str(error)


class _Payload:
    """Unpickling this runs code: what a crafted file would do."""

    def __reduce__(self):
        return (exec, ("import pathlib; pathlib.Path('PWNED').write_text('x')",))


def test_a_package_with_a_rewritten_hash_is_refused_before_unpickling(
    tmp_path, card_inputs, monkeypatch
):
    """Rewriting metadata_v1.json's sha256 to match a crafted file is not enough:
    the file has no valid signature, so it is never unpickled."""
    import joblib

    from model_training.datasets.package import sha256_of
    from model_training.datasets.signing import UntrustedFileError

    monkeypatch.chdir(tmp_path)
    dataset = ModelPackageDataset(filepath=str(tmp_path / "models"))
    dataset.save(package(LogisticRegression(), card_inputs))
    model_file = next((tmp_path / "models").glob("model_v1_*.joblib"))
    joblib.dump(_Payload(), model_file)
    metadata_file = tmp_path / "models" / "metadata_v1.json"
    metadata = json.loads(metadata_file.read_text())
    metadata["artifacts"]["model"]["sha256"] = sha256_of(model_file)
    metadata_file.write_text(json.dumps(metadata))
    with pytest.raises(Exception) as caught:
        dataset.load()
    error = find_user_error(caught.value)
    assert isinstance(error, UntrustedFileError)
    assert str(model_file) in str(error)
    assert "signature does not match" in str(error)
    assert not (tmp_path / "PWNED").exists()


def test_a_crafted_fitted_model_file_is_refused(tmp_path, monkeypatch):
    import joblib

    from model_training.datasets import SignedJoblibDataset
    from model_training.datasets.signing import UntrustedFileError

    monkeypatch.chdir(tmp_path)
    dataset = SignedJoblibDataset(filepath=str(tmp_path / "final_model.joblib"))
    dataset.save({"model": LogisticRegression()})
    assert isinstance(dataset.load()["model"], LogisticRegression)
    joblib.dump(_Payload(), tmp_path / "final_model.joblib")  # the old .sig stays
    for expected in ("signature does not match", "has no signature"):
        with pytest.raises(Exception) as caught:
            dataset.load()
        error = find_user_error(caught.value)
        assert isinstance(error, UntrustedFileError) and expected in str(error)
        (tmp_path / "final_model.joblib.sig").unlink(missing_ok=True)
    assert not (tmp_path / "PWNED").exists()


def test_a_signing_key_others_can_read_is_refused(tmp_path, monkeypatch):
    from model_training.datasets import signing

    key = tmp_path / "key"
    monkeypatch.setenv(signing.KEY_ENV, str(key))
    (tmp_path / "f").write_bytes(b"x")
    signing.sign(tmp_path / "f")  # creates the key, 0600
    assert key.stat().st_mode & 0o777 == 0o600
    key.chmod(0o644)
    with pytest.raises(signing.UntrustedFileError, match="chmod 600"):
        signing.verify(tmp_path / "f")


def test_psi_detects_shift():
    import polars as pl

    from model_training.lib.core.plan import ModelingPlan
    from model_training.lib.core.spec import ModelingSpec

    spec = ModelingSpec(
        epic_id="x", problem_type="regression", target="y", primary_metric="rmse"
    )
    plan = ModelingPlan(
        spec=spec,
        numeric_features=["a"],
        categorical_features=["c"],
        cv_strategy="kfold",
        greater_is_better=False,
    )
    rng = np.random.default_rng(0)
    frame = pl.DataFrame(
        {"a": rng.normal(size=2000), "c": rng.choice(["x", "y"], 2000)}
    )
    stats = feature_statistics(frame, plan, bins=10)
    same = population_stability_index(
        stats["a"]["psi_reference"], rng.normal(size=2000)
    )
    shifted = population_stability_index(
        stats["a"]["psi_reference"], rng.normal(1.0, 1, size=2000)
    )
    assert same < 0.05
    assert shifted > 0.2
    assert population_stability_index(stats["c"]["psi_reference"], ["x"] * 1000) > 0.2
    assert json.dumps(stats)  # JSON-ready
