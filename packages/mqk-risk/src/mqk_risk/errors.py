"""Exceptions raised by :mod:`mqk_risk`.

A refused order or a tripped kill switch is never an exception: it is a
:class:`mqk_schemas.Decision`. Exceptions are for misuse of the API.

::

    RiskError                   base of every error raised here
    ├── RiskLimitsError         risk limits that fail validation (each problem with its key path)
    ├── RiskInputError          a call with inputs the engine cannot accept
    │   ├── EngineMismatchError an intent, fill or snapshot of another engine
    │   └── ClockRegressionError a timestamp or session earlier than one already seen
    └── SwitchNotActiveError    clearing a kill switch that is not tripped
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "ClockRegressionError",
    "EngineMismatchError",
    "RiskError",
    "RiskInputError",
    "RiskLimitsError",
    "SwitchNotActiveError",
]


class RiskError(Exception):
    """Base class of every error raised by mqk_risk."""

    reason_code: str = "RISK_ERROR"


class RiskLimitsError(RiskError, ValueError):
    """Risk limits failed validation; ``problems`` holds ``(key_path, message)`` pairs."""

    reason_code = "RISK_LIMITS_INVALID"

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        self.problems: tuple[tuple[str, str], ...] = tuple(problems)
        lines = "\n".join(f"  {path}: {message}" for path, message in self.problems)
        super().__init__(f"invalid risk limits ({len(self.problems)} problem(s)):\n{lines}")


class RiskInputError(RiskError, ValueError):
    """A call carried inputs the risk engine cannot accept (naive time, float money, ...)."""

    reason_code = "RISK_INPUT_INVALID"


class EngineMismatchError(RiskInputError):
    """An intent, fill or state snapshot belongs to a different engine than this risk engine."""

    reason_code = "RISK_ENGINE_MISMATCH"


class ClockRegressionError(RiskInputError):
    """A timestamp or session date went backwards relative to one the engine already saw."""

    reason_code = "RISK_CLOCK_REGRESSION"


class SwitchNotActiveError(RiskError):
    """An operator tried to clear a kill switch that is not tripped."""

    reason_code = "KILL_SWITCH_NOT_ACTIVE"
