"""A readable, YAML-like rendering of an effective config (keys sorted, numbers exact)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from enum import Enum
from typing import Any

from mqk_config._effective import EffectiveConfig
from mqk_schemas import format_decimal

__all__ = ["render_config_text"]


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        return _scalar(value.value)
    if isinstance(value, Decimal):
        return format_decimal(value)
    if isinstance(value, int):
        return str(value)
    return json.dumps(str(value), ensure_ascii=False)


def _lines(value: Any, indent: int) -> list[str]:
    pad = "  " * indent
    out: list[str] = []
    if isinstance(value, Mapping):
        for key in sorted(value):
            item = value[key]
            if isinstance(item, Mapping | list | tuple) and item:
                out.append(f"{pad}{key}:")
                out.extend(_lines(item, indent + 1))
            elif isinstance(item, Mapping):
                out.append(f"{pad}{key}: {{}}")
            elif isinstance(item, list | tuple):
                out.append(f"{pad}{key}: []")
            else:
                out.append(f"{pad}{key}: {_scalar(item)}")
    else:
        for item in value:
            if isinstance(item, Mapping | list | tuple) and item:
                nested = _lines(item, indent + 1)
                out.append(f"{pad}- {nested[0].lstrip()}")
                out.extend(nested[1:])
            else:
                out.append(f"{pad}- {_scalar(item)}")
    return out


def render_config_text(config: EffectiveConfig) -> str:
    """The effective config as YAML-like text, preceded by its layers and followed by its hash."""
    header = [
        f"# engine: {config.engine_id}",
        f"# env: {config.env}",
        f"# stress: {', '.join(config.stress) if config.stress else '(none)'}",
        "# layers:",
        *(f"#   {layer.kind}: {layer.source}" for layer in config.layers),
    ]
    body = _lines(config.to_data(), 0)
    return "\n".join([*header, *body, f"config_hash: {config.config_hash}"]) + "\n"
