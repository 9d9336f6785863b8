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
def _quiet_mlflow() -> Iterator[None]:
    """MLflow's info and warning notices while a model is logged (and the
    scoring of the input example it makes), left out; errors still show."""
    import warnings

    loggers = [
        logging.getLogger(name)
        # py.warnings: Kedro routes warnings to logging, and MLflow re-enables
        # its own notices whatever the filters say
        for name in ("mlflow", "model_training.lib.stage.inference", "py.warnings")
    ]
    levels = [log.level for log in loggers]
    for log in loggers:
        log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for log, level in zip(loggers, levels, strict=True):
            log.setLevel(level)


class RegisteredModelDataset(_LocalFileDataset):
    """Log ``{"model", "package_metadata", "package_version", "plan",
    "input_example"}`` to the active MLflow run and register it.

    The model is a pyfunc model around the package
    (:class:`model_training.serving.PackagedModel`: it answers with the
    inference pipeline's table), saved with a signature inferred from the pandas
    input example (pandas at the MLflow boundary), and registered as
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
            # cloudpickle: the package holds the project's own classes and
            # CatBoost; the record's sha256 of the logged files is the safeguard.
            # MLflow's notices about it (and about integer output columns, the
            # package version) would repeat on every run: kept out of the console.
            with _quiet_mlflow():
                from model_training.serving import PackagedModel

                model = PackagedModel(
                    data["model"],
                    data["package_metadata"],
                    data["package_version"],
                    data["plan"],
                )
                signature = infer_signature(example, model.predict(None, example))
                info = mlflow.pyfunc.log_model(
                    name="model",
                    python_model=model,
                    signature=signature,
                    input_example=example,
                    registered_model_name=self._name,
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
