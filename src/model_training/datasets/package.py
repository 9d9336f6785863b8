"""The versioned model package of stage step 10: models/{epic}/.

Each save writes version N+1 beside the earlier ones, which are never touched::

    model_v{N}_{timestamp}.joblib      the whole fitted model (predicts from raw columns)
    preprocessing_v{N}.joblib          its fitted preprocessing steps
    metadata_v{N}.json                 step 10.3's metadata + sha256 of every artifact
    requirements_v{N}.txt, monitoring_baseline_v{N}.json, model_card_v{N}.md
    requirements.txt, monitoring_baseline.json, model_card.md   (copies of the latest)

Everything is written to a staging folder first and moved into place only when
all of it was written, so a failure leaves the previous package intact (during a
``kedro run`` the whole version is staged with the run's other outputs and
promoted when the run succeeds). Every joblib file is signed with the project's
key; loading checks the signature and the sha256 recorded in the metadata
before unpickling: a tampered or foreign file is refused, never loaded.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset

from model_training.datasets import signing, transaction
from model_training.datasets.files import _jsonable
from model_training.gitinfo import git_commit
from model_training.lib.core.errors import UserFacingError
from model_training.lib.reporting.model_card import render
from model_training.lib.reporting.package import package_versions, requirements_text
from model_training.mlflow_record import active_run_id

_MODEL = re.compile(r"^model_v(\d+)_(\d{8}T\d{6}Z)\.joblib$")
_METADATA = re.compile(r"^metadata_v(\d+)\.json$")


class PackageIntegrityError(UserFacingError):
    """A package file does not match the sha256 recorded in its metadata."""


def sha256_of(path: Path) -> str:
    """The file's sha256, hex."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class ModelPackageDataset(AbstractDataset[dict[str, Any], dict[str, Any]]):
    """The model package folder of one epic (``filepath`` is the folder).

    Save takes ``{"model", "preprocessing", "metadata", "monitoring_baseline",
    "card"}``, where ``card`` holds the model card's inputs. What only the
    writing side knows is added here: the version, timestamp, sha256 of every
    artifact, the MLflow run id, the code commit, the exact package versions
    (and requirements.txt pinned from them); then the card is rendered. Load returns the newest version (or ``model_version``) as
    ``{"version", "metadata", "model", "preprocessing", "directory",
    "monitoring_baseline"}`` (the baseline None when the version has none).
    """

    def __init__(
        self,
        *,
        filepath: str,
        model_version: int | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._dir = Path(filepath)
        self._version = model_version
        self.metadata = metadata

    @property
    def local_path(self) -> Path:
        """The package folder."""
        return self._dir

    def _folders(self) -> list[Path]:
        """The package folder, and this run's staged version when there is one."""
        run = transaction.current()
        staged = run.staged_folder(self._dir) if run is not None else None
        return [self._dir, *([staged] if staged is not None else [])]

    def versions(self) -> dict[int, Path]:
        """Saved versions and their model files (this run's staged one included).

        A version whose metadata exists but whose model file is gone is listed
        with the path the model file would have, so loading it says so.
        """
        found = {}
        for folder in self._folders():
            if folder.is_dir():
                for path in folder.iterdir():
                    match = _MODEL.match(path.name)
                    if match:
                        found[int(match.group(1))] = path
                    meta = _METADATA.match(path.name)
                    if meta and int(meta.group(1)) not in found:
                        found[int(meta.group(1))] = path.with_name(
                            f"model_v{meta.group(1)}_missing.joblib"
                        )
        return dict(sorted(found.items()))

    def save(self, data: dict[str, Any]) -> None:
        existing = self.versions()
        folder = transaction.write_path(self._dir, "merge")
        version = (max(existing) if existing else 0) + 1
        now = datetime.now(UTC)
        stamp = now.strftime("%Y%m%dT%H%M%SZ")
        staging = Path(tempfile.mkdtemp(dir=folder, prefix=".staging-"))
        try:
            names = {
                "model": f"model_v{version}_{stamp}.joblib",
                "preprocessing": f"preprocessing_v{version}.joblib",
            }
            artifacts = {}
            for key, name in names.items():
                signing.dump(data[key], staging / name)
                artifacts[key] = {
                    "file": name,
                    "sha256": sha256_of(staging / name),
                    "bytes": (staging / name).stat().st_size,
                }
            baseline = {
                "version": version,
                "creation_date": now.isoformat(),
                **data["monitoring_baseline"],
            }
            versions = package_versions()
            texts = {
                f"requirements_v{version}.txt": requirements_text(
                    versions, platform.python_version()
                ),
                f"monitoring_baseline_v{version}.json": json.dumps(
                    _jsonable(baseline), indent=2, allow_nan=False
                )
                + "\n",
            }
            for name, text in texts.items():
                (staging / name).write_text(text, encoding="utf-8")
                kind = name.split("_v")[0]
                artifacts[kind] = {
                    "file": name,
                    "sha256": sha256_of(staging / name),
                    "bytes": (staging / name).stat().st_size,
                }
            metadata = {
                **data["metadata"],
                "model_version": version,
                "creation_date": now.isoformat(),
                "timestamp": stamp,
                "artifacts": artifacts,
                "mlflow_run_id": active_run_id(),
                "code_commit": git_commit(Path.cwd()),
                "python_version": platform.python_version(),
                "package_versions": versions,
            }
            card = render(metadata=metadata, **data["card"])
            (staging / f"model_card_v{version}.md").write_text(card, encoding="utf-8")
            metadata["artifacts"]["model_card"] = {
                "file": f"model_card_v{version}.md",
                "sha256": sha256_of(staging / f"model_card_v{version}.md"),
            }
            (staging / f"metadata_v{version}.json").write_text(
                json.dumps(_jsonable(metadata), indent=2, allow_nan=False) + "\n",
                encoding="utf-8",
            )
            latest = {
                f"requirements_v{version}.txt": "requirements.txt",
                f"monitoring_baseline_v{version}.json": "monitoring_baseline.json",
                f"model_card_v{version}.md": "model_card.md",
            }
            for name, alias in latest.items():
                shutil.copy2(staging / name, staging / f".latest-{alias}")
            # everything is written: move versioned files in, then the latest copies
            for path in sorted(staging.iterdir()):
                if not path.name.startswith(".latest-"):
                    os.replace(path, folder / path.name)
            for alias in latest.values():
                os.replace(staging / f".latest-{alias}", folder / alias)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        _log_to_mlflow(
            [folder / f"metadata_v{version}.json", *(folder / n for n in latest)]
        )

    def load(self) -> dict[str, Any]:
        versions = self.versions()
        if not versions:
            raise UserFacingError(
                f"No model package in {self._dir}: run the stage (kedro run) first"
            )
        version = self._version or max(versions)
        if version not in versions:
            raise UserFacingError(
                f"No version {version} in {self._dir}; versions: {sorted(versions)}"
            )
        folder = versions[version].parent
        metadata_file = folder / f"metadata_v{version}.json"
        if not metadata_file.is_file():
            raise PackageIntegrityError(
                f"{metadata_file}: missing, so version {version}'s files cannot be "
                "checked; nothing was loaded. Fix: restore it, load another version "
                "(model_version), or retrain"
            )
        try:
            metadata = json.loads(metadata_file.read_text(encoding="utf-8"))
            artifacts = {
                k: metadata["artifacts"][k] for k in ("model", "preprocessing")
            }
        except (ValueError, KeyError, TypeError) as exc:
            raise PackageIntegrityError(
                f"{metadata_file}: unreadable ({type(exc).__name__}: {exc}); nothing was "
                "loaded. Fix: restore it from MLflow (artifacts/package) or retrain"
            ) from None
        loaded = {}
        for key, entry in artifacts.items():
            path = folder / entry["file"]
            if not path.is_file():
                raise PackageIntegrityError(
                    f"{path}: missing, though metadata_v{version}.json lists it; nothing "
                    "was loaded. Fix: restore it from MLflow or retrain"
                )
            actual = sha256_of(path)
            if actual != entry["sha256"]:
                raise PackageIntegrityError(
                    f"{path}: sha256 {actual[:16]}... does not match the {entry['sha256'][:16]}... recorded in "
                    f"metadata_v{version}.json. The file was changed after it was written; it was not loaded. "
                    "Restore it from MLflow or retrain."
                )
            loaded[key] = signing.load(path, f"package's {key} file")
        baseline_file = folder / f"monitoring_baseline_v{version}.json"
        return {
            "version": version,
            "metadata": metadata,
            "directory": str(self._dir),
            # JSON, not a pickle: read as is (the monitoring pipeline's reference)
            "monitoring_baseline": json.loads(baseline_file.read_text(encoding="utf-8"))
            if baseline_file.is_file()
            else None,
            **loaded,
        }

    def _exists(self) -> bool:
        return bool(self.versions())

    def _describe(self) -> dict[str, Any]:
        return {"filepath": self._dir.as_posix(), "model_version": self._version}


def _log_to_mlflow(paths: list[Path]) -> None:
    """Log the card, metadata, requirements and monitoring baseline to the active run."""
    import mlflow

    if mlflow.active_run() is None:
        return
    for path in paths:
        mlflow.log_artifact(str(path), "package")
