"""The final model in MLflow: logged with signature and input example, registered."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from model_training.datasets import signing, transaction
from model_training.datasets.files import _atomic_write, _LocalFileDataset

logger = logging.getLogger(__name__)


@contextmanager
def _without_message(target: logging.Logger, text: str) -> Iterator[None]:
    """Drop records of ``target`` whose message contains ``text``, for the block."""

    def keep(record: logging.LogRecord) -> bool:
        return text not in record.getMessage()

    target.addFilter(keep)
    try:
        yield
    finally:
        target.removeFilter(keep)


class RegisteredModelDataset(_LocalFileDataset):
    """Log ``{"model", "input_example"}`` to the active MLflow run and register it.

    The model is saved with the scikit-learn flavour (cloudpickle, since the
    package holds the project's own wrapper classes), a signature inferred from
    the pandas input example (pandas at the MLflow boundary), and registered as
    ``registered_model_name`` with a new version. A JSON record of the run id,
    model URI and registered version is written to ``filepath``; loading returns
    it. Without an active run (tracking disabled, a notebook) nothing is logged
    and the record says so.
    """

    def __init__(
        self,
        *,
        filepath: str,
        registered_model_name: str,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(filepath=filepath, metadata=metadata)
        self._name = registered_model_name

    def save(self, data: dict[str, Any]) -> None:
        import mlflow
        from mlflow.models import infer_signature

        record: dict[str, Any] = {"registered_model_name": self._name}
        if mlflow.active_run() is None:
            record["status"] = "not logged: no active MLflow run"
            logger.warning(
                "No active MLflow run: the model was not logged or registered"
            )
        else:
            example = data["input_example"]
            model = data["model"]
            signature = infer_signature(example, model.predict(example))
            # cloudpickle is chosen on purpose: the package holds the project's own
            # classes and CatBoost, which skops refuses. MLflow warns about it on
            # every call; the package's sha256 check is the safeguard here.
            with _without_message(logging.getLogger("mlflow.sklearn"), "cloudpickle"):
                info = mlflow.sklearn.log_model(
                    model,
                    name="model",
                    signature=signature,
                    input_example=example,
                    registered_model_name=self._name,
                    serialization_format="cloudpickle",
                    pip_requirements=data.get("pip_requirements"),
                )
            record.update(
                {
                    "status": "registered",
                    "run_id": mlflow.active_run().info.run_id,
                    "model_uri": info.model_uri,
                    "model_sha256": _model_digest(info.model_uri),
                    "registered_version": int(info.registered_model_version)
                    if info.registered_model_version is not None
                    else None,
                }
            )
            if record["registered_version"] is not None:
                record.update(
                    self._describe_version(data, record["registered_version"])
                )
            logger.info(
                "Registered %s version %s", self._name, record["registered_version"]
            )
        text = json.dumps(record, indent=2) + "\n"
        target = self._target()

        def write(tmp: Any) -> None:  # the record is signed: it vouches for the model
            tmp.write_text(text, encoding="utf-8")
            signing.sign(tmp)
            os.replace(f"{tmp}{signing.SUFFIX}", signature)

        signature = transaction.write_path(Path(f"{self._filepath}{signing.SUFFIX}"))
        _atomic_write(target, write)

    def _describe_version(self, data: dict[str, Any], version: int) -> dict[str, Any]:
        """The version's description and tags, and its alias (``champion``
        moves to it when it meets the acceptance criteria)."""
        from mlflow import MlflowClient

        client = MlflowClient()
        if data.get("description"):
            client.update_model_version(self._name, str(version), data["description"])
        for key, value in (data.get("tags") or {}).items():
            client.set_model_version_tag(self._name, str(version), key, str(value))
        alias = data.get("alias")
        if alias:
            client.set_registered_model_alias(self._name, alias, str(version))
        return {"alias": alias, "description": data.get("description")}

    def load(self) -> dict[str, Any]:
        """The record, with the registered model loaded as ``pyfunc`` when there is one.

        The record's signature is checked, and the registered model's pickle is
        compared with the sha256 the record holds before MLflow unpickles it.
        """
        source = self._source
        signing.verify(source, "registered-model record")
        record = json.loads(source.read_text(encoding="utf-8"))
        if record.get("registered_version") is not None:
            import mlflow

            uri = f"models:/{record['registered_model_name']}/{record['registered_version']}"
            local = mlflow.artifacts.download_artifacts(uri)
            actual = _folder_digest(Path(local))
            if actual != record.get("model_sha256"):
                raise signing.UntrustedFileError(
                    f"{uri} (in {local}): its files do not match the sha256 recorded in "
                    f"{self._filepath} when it was registered, so it was not unpickled. "
                    "Fix: rerun the reporting pipeline to register a new version"
                )
            record["pyfunc"] = mlflow.pyfunc.load_model(local)
        return record

    def _exists(self) -> bool:
        return self._source.exists()

    def _describe(self) -> dict[str, Any]:
        return {
            "filepath": self._filepath.as_posix(),
            "registered_model_name": self._name,
        }


def _folder_digest(folder: Path) -> str:
    """One sha256 over every file of a logged model (names and bytes, sorted).

    ``registered_model_meta`` is left out: MLflow adds it when a version is
    registered, after logging; it holds the name and version, no code.
    """
    digest = hashlib.sha256()
    files = (
        p
        for p in folder.rglob("*")
        if p.is_file() and p.name != "registered_model_meta"
    )
    for path in sorted(files):
        digest.update(path.relative_to(folder).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _model_digest(uri: str) -> str:
    import mlflow

    return _folder_digest(Path(mlflow.artifacts.download_artifacts(uri)))
