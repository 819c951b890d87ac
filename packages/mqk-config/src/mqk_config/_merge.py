"""Deep merge of layers (maps merge, everything else is replaced) and key-path helpers."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["KeyPath", "deep_merge", "format_path", "lookup_path"]

KeyPath = tuple[str | int, ...]
"""A location in a config tree: mapping keys and list indexes."""


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``base`` overlaid with ``override``; neither input is modified.

    Mappings present in both are merged key by key, recursively. Any other value in
    ``override`` (a scalar, a list, null) replaces the value in ``base`` as a whole: lists are
    REPLACED, never concatenated, so a layer states the complete list it wants.
    """
    merged: dict[str, Any] = {key: copy.deepcopy(value) for key, value in base.items()}
    for key, value in override.items():
        current = merged.get(key)
        if isinstance(current, Mapping) and isinstance(value, Mapping):
            merged[key] = deep_merge(current, value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def lookup_path(tree: Any, path: Sequence[str | int]) -> tuple[bool, Any]:
    """Follow ``path`` into ``tree``; return ``(found, value)``."""
    node = tree
    for part in path:
        in_map = isinstance(node, Mapping) and isinstance(part, str) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if not (in_map or in_list):
            return False, None
        node = node[part]
    return True, node


def format_path(path: Sequence[str | int]) -> str:
    """Render a key path as ``risk.reject_storm.max_rejects`` / ``engine.strategies[0].name``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "<root>"
