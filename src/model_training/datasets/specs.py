"""Datasets for the epic's YAML inputs, validated on load."""

from __future__ import annotations

from typing import Any

import yaml

from model_training.datasets.files import _display, _LocalFileDataset, read_utf8
from model_training.lib.core.errors import InputError, Problem
from model_training.lib.core.parsing import parse_model
from model_training.lib.core.schema import FeatureSchema
from model_training.lib.core.spec import ModelingSpec


class _ValidatedYAMLDataset(_LocalFileDataset):
    model: type = ModelingSpec
    what: str = "YAML file"
    fix_missing: str = "create it"

    def load(self) -> Any:
        source = _display(self._filepath)
        if not self._filepath.is_file():
            raise InputError(
                f"Missing {self.what}",
                [Problem(source, "the file does not exist", self.fix_missing)],
            )
        try:
            data = yaml.safe_load(read_utf8(self._filepath, self.what))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"{source}, line {mark.line + 1}" if mark else source
            raise InputError(
                f"Invalid {self.what}",
                [
                    Problem(
                        where,
                        f"not valid YAML ({getattr(exc, 'problem', exc)})",
                        "fix the YAML syntax",
                    )
                ],
            ) from None
        return parse_model(self.model, data, source, self.what)

    def save(self, data: Any) -> None:
        payload = data.model_dump(mode="json", exclude={"source"}, exclude_none=True)
        self._filepath.parent.mkdir(parents=True, exist_ok=True)
        self._filepath.write_text(
            yaml.safe_dump(payload, sort_keys=False), encoding="utf-8"
        )


class ModelingSpecDataset(_ValidatedYAMLDataset):
    """The epic's modeling spec (``modeling_spec.yml``) as a :class:`ModelingSpec`.

    Example catalog entry::

        modeling_spec:
          type: model_training.datasets.ModelingSpecDataset
          filepath: docs/objectives/user_stories/${epic}/modeling_spec.yml
    """

    model = ModelingSpec
    what = "modeling spec"
    fix_missing = (
        "write the epic's modeling spec there (see the README), or create the epic "
        "with `uv run model-training-epic from-csv ...`"
    )


class FeatureSchemaDataset(_ValidatedYAMLDataset):
    """The epic's machine-readable feature documentation as a :class:`FeatureSchema`."""

    model = FeatureSchema
    what = "feature schema"
    fix_missing = (
        "document the feature columns there (name, dtype, role), or create the epic "
        "with `uv run model-training-epic from-csv ...`"
    )


__all__ = ["FeatureSchemaDataset", "ModelingSpecDataset"]
