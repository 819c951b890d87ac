"""Exceptions raised by :mod:`mqk_isolation`.

An order over its engine's cap is never an exception: it is a
:class:`mqk_schemas.Decision` (REJECT, ``ENGINE_CAP_EXCEEDED``). Exceptions are for misuse.

::

    IsolationError                  base of every error raised here
    ├── EngineSettingsError         engine settings that break isolation rules (every violation
    │                               with its key path, e.g. ``engines.EXP.keys_env.api_key``)
    ├── UnknownEngineError          an engine id no cap or scope was registered for
    ├── AllocationInputError        an allocation check called with unusable inputs
    └── CrossEngineAccessError      one engine's scope asked to read or change another's state
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mqk_isolation._settings import EngineViolation

__all__ = [
    "AllocationInputError",
    "CrossEngineAccessError",
    "EngineSettingsError",
    "IsolationError",
    "UnknownEngineError",
]


class IsolationError(Exception):
    """Base class of every error raised by mqk_isolation."""

    reason_code: str = "ISOLATION_ERROR"


class EngineSettingsError(IsolationError, ValueError):
    """Engine settings violate an isolation rule; ``violations`` lists every one."""

    reason_code = "ENGINE_SETTINGS_INVALID"

    def __init__(self, violations: Sequence[EngineViolation]) -> None:
        self.violations: tuple[EngineViolation, ...] = tuple(violations)
        lines = "\n".join(
            f"  {item.path}: {item.message} [{item.reason_code}]" for item in self.violations
        )
        super().__init__(f"engine settings refused ({len(self.violations)} violation(s)):\n{lines}")


class UnknownEngineError(IsolationError, KeyError):
    """No cap or scope is registered for the engine id."""

    reason_code = "UNKNOWN_ENGINE"

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown engine"


class AllocationInputError(IsolationError, ValueError):
    """An allocation check got inputs it cannot use (missing reference price, float money)."""

    reason_code = "ALLOCATION_INPUT_INVALID"


class CrossEngineAccessError(IsolationError, PermissionError):
    """An engine's scope was asked to read or change state that belongs to another engine."""

    reason_code = "CROSS_ENGINE_ACCESS"

    def __init__(self, scope_engine: str, other_engine: str, what: str) -> None:
        self.scope_engine = scope_engine
        self.other_engine = other_engine
        self.what = what
        super().__init__(
            f"engine {scope_engine}'s scope cannot access {what} of engine {other_engine}"
        )
