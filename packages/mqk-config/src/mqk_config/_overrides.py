"""Explicit overrides written as ``key.path=value`` (for command-line parameters)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from mqk_config._effective import OVERRIDES_SOURCE
from mqk_config._merge import deep_merge
from mqk_config._yaml import parse_yaml_value
from mqk_config.errors import ConfigError, ConfigProblem, ConfigValidationError

__all__ = ["overrides_from_assignments"]

_KEY_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$")


def overrides_from_assignments(assignments: Iterable[str]) -> dict[str, Any]:
    """Turn ``["risk.max_drawdown=0.05", "engine.shadow=true"]`` into a nested overrides map.

    Values are parsed like YAML scalars, exactly (``0.05`` is a Decimal, ``10`` an int). A later
    assignment of the same key wins. Malformed assignments raise :class:`ConfigValidationError`.
    """
    result: dict[str, Any] = {}
    problems: list[ConfigProblem] = []
    for assignment in assignments:
        key, sep, raw = assignment.partition("=")
        key = key.strip()
        if not sep or not _KEY_PATH.match(key):
            problems.append(
                ConfigProblem(
                    key or "<empty>",
                    "expected KEY.PATH=VALUE (e.g. risk.max_drawdown=0.05)",
                    OVERRIDES_SOURCE,
                )
            )
            continue
        try:
            value = parse_yaml_value(raw.strip(), OVERRIDES_SOURCE)
        except ConfigError as exc:
            problems.append(ConfigProblem(key, f"unreadable value ({exc})", OVERRIDES_SOURCE))
            continue
        nested: Any = value
        for part in reversed(key.split(".")):
            nested = {part: nested}
        result = deep_merge(result, nested)
    if problems:
        raise ConfigValidationError(problems)
    return result
