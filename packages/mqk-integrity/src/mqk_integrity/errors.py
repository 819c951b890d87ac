"""Exceptions raised by :mod:`mqk_integrity`.

A rule broken by a *bar* in a stream is not an exception but a typed
:class:`~mqk_schemas.Decision`; exceptions are for files that cannot be accepted, for
look-ahead (a hard failure) and for misuse of the API.

::

    IntegrityError                  base of every error raised here
    ├── BarFileError                a bar file refused whole; ``.problems`` lists up to 20
    ├── CalendarError               an exchange calendar cannot serve the request
    │   └── UnknownCalendarError    no calendar has that name
    ├── LookaheadError              a bar closing after the clock reached the gate (hard failure)
    ├── GateUsageError              the gate was called in a way its contract forbids
    └── SynthError                  synthetic-bar parameters that cannot be honoured
"""

from __future__ import annotations

from mqk_integrity._problem import Problem
from mqk_schemas import Decision

__all__ = [
    "BarFileError",
    "CalendarError",
    "GateUsageError",
    "IntegrityError",
    "LookaheadError",
    "SynthError",
    "UnknownCalendarError",
]


class IntegrityError(Exception):
    """Base class of every error raised by mqk_integrity."""

    reason_code: str = "INTEGRITY_ERROR"


class BarFileError(IntegrityError):
    """A bar file was refused whole; nothing from it was used.

    ``problems`` holds the first problems found in row order (at most
    :data:`~mqk_integrity.MAX_PROBLEMS`), ``total`` how many were found in all.
    """

    reason_code = "BAR_FILE_INVALID"

    def __init__(self, file: str, problems: list[Problem], total: int | None = None) -> None:
        self.file = file
        self.problems = problems
        self.total = len(problems) if total is None else total
        head = f"{file}: refused, {self.total} problem(s)"
        lines = [str(p) for p in problems]
        if self.total > len(problems):
            lines.append(f"... and {self.total - len(problems)} more")
        super().__init__("\n  ".join([head, *lines]))


class CalendarError(IntegrityError):
    """An exchange calendar could not serve the request (e.g. dates outside its range)."""

    reason_code = "CALENDAR_ERROR"


class UnknownCalendarError(CalendarError):
    """No exchange calendar has the requested name."""

    reason_code = "UNKNOWN_CALENDAR"


class LookaheadError(IntegrityError):
    """A complete bar whose close time is after the clock reached the gate.

    The gate is DISARMED before this is raised; ``decision`` is that DISARM decision.
    """

    reason_code = "LOOKAHEAD_VIOLATION"

    def __init__(self, decision: Decision) -> None:
        self.decision = decision
        super().__init__(decision.message)


class GateUsageError(IntegrityError):
    """The gate was called against its contract (unknown feed, clearing nothing, ...)."""

    reason_code = "GATE_USAGE"


class SynthError(IntegrityError):
    """Synthetic-bar parameters that cannot be honoured."""

    reason_code = "SYNTH_INVALID"
