"""Parsing user files into validated models: one clear error per file naming each bad key and its fix."""

from __future__ import annotations

from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    ValidationError,
)

from model_training.lib.core.errors import InputError, Problem


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def format_location(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc)


def explain_error(error: dict[str, Any]) -> tuple[str, str]:
    kind = error["type"]
    message = error["msg"].removeprefix("Value error, ")
    if kind == "extra_forbidden":
        return (
            "unknown key",
            "remove it or correct its spelling (see the README's spec reference)",
        )
    if kind == "missing":
        return "required key is missing", "add it"
    return message, "correct the value"


def parse_model(model: type[BaseModel], data: Any, source: str, what: str) -> Any:
    """Validate raw YAML data into ``model``, or raise one :class:`InputError`.

    Args:
        model: :class:`ModelingSpec` or :class:`FeatureSchema`.
        data: the parsed YAML.
        source: the file the data came from, named in messages.
        what: a short name for the file's kind ("modeling spec").

    Returns:
        The validated model, with ``source`` set.
    """
    if not isinstance(data, dict):
        raise InputError(
            f"Invalid {what}",
            [
                Problem(
                    source,
                    "the file is not a YAML mapping",
                    f"write the {what} as key: value pairs",
                )
            ],
        )
    try:
        return model.model_validate({**data, "source": source})
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            what_wrong, fix = explain_error(error)
            where = (
                f"{source}, key '{format_location(error['loc'])}'"
                if error["loc"]
                else source
            )
            problems.append(Problem(where, what_wrong, fix))
        raise InputError(f"Invalid {what}", problems) from None
