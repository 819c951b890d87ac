"""Schema validation with every problem reported as (key path, message, layer file)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from mqk_config._merge import KeyPath, format_path, lookup_path
from mqk_config._models import Settings
from mqk_config._provenance import LayerData, layer_of
from mqk_config.errors import ConfigProblem

__all__ = ["missing_defaults", "required_paths", "validate_settings"]

_MISSING_DEFAULT = (
    "missing setting: the default layer must define every setting (no hidden defaults)"
)


def required_paths(model: type[BaseModel] = Settings, prefix: KeyPath = ()) -> list[KeyPath]:
    """Every leaf setting of ``model`` as a key path, in declaration order."""
    paths: list[KeyPath] = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            paths.extend(required_paths(annotation, (*prefix, name)))
        else:
            paths.append((*prefix, name))
    return paths


def missing_defaults(default: LayerData) -> list[ConfigProblem]:
    """A problem for each setting that the default layer does not define."""
    return [
        ConfigProblem(format_path(path), _MISSING_DEFAULT, default.source)
        for path in required_paths()
        if not lookup_path(default.data, path)[0]
    ]


def _message(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return _MISSING_DEFAULT
    text = str(error["msg"])
    return text.removeprefix("Value error, ")


def validate_settings(
    merged: Mapping[str, Any], layers: Sequence[LayerData]
) -> tuple[Settings | None, list[ConfigProblem]]:
    """Validate ``merged``; on failure return every problem with the layer that set the key."""
    try:
        return Settings.model_validate(merged), []
    except ValidationError as exc:
        problems: list[ConfigProblem] = []
        errors = exc.errors(include_url=False, include_input=False)
        failed_items = [tuple(e["loc"]) for e in errors]
        for error in errors:
            path: KeyPath = tuple(error["loc"])
            if error["type"] == "too_short" and any(
                len(other) > len(path) and other[: len(path)] == path for other in failed_items
            ):
                continue  # a list "too short" only because its items failed: report the items
            missing = error["type"] == "missing"
            source = layers[0].source if missing else layer_of(layers, path)
            problems.append(ConfigProblem(format_path(path), _message(error), source))
        return None, problems
