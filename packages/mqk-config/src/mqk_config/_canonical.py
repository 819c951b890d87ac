"""Canonical JSON of the effective config and its SHA-256 ``config_hash``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mqk_config._merge import format_path
from mqk_config._models import Settings
from mqk_schemas import ExactnessError, canonical_json, sha256_hex

__all__ = ["canonical_config_json", "config_hash"]


def _refuse_floats(value: Any, path: tuple[str | int, ...]) -> None:
    if isinstance(value, float):
        raise ExactnessError(f"{format_path(path)} is a binary float; config numbers are exact")
    if isinstance(value, Mapping):
        for key, item in value.items():
            _refuse_floats(item, (*path, str(key)))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _refuse_floats(item, (*path, index))


def canonical_config_json(value: Settings | Mapping[str, Any]) -> str:
    """Canonical JSON text: sorted keys, minimal separators, normalised exact numbers.

    ``0.10`` and ``0.1`` render the same, key order never matters, and binary floats are
    refused, so the text (and its hash) is identical in every process.
    """
    data = value.model_dump(mode="python") if isinstance(value, Settings) else value
    _refuse_floats(data, ())
    return canonical_json(data)


def config_hash(value: Settings | Mapping[str, Any]) -> str:
    """SHA-256 (lowercase hex) of :func:`canonical_config_json`."""
    return sha256_hex(canonical_config_json(value))
