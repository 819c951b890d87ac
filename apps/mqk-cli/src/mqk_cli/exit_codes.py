"""Process exit codes shared by every command."""

from __future__ import annotations

from enum import IntEnum

__all__ = ["ExitCode"]


class ExitCode(IntEnum):
    """0 ok, 1 refused by a safety rule, 2 bad input or usage."""

    OK = 0
    REFUSED = 1
    BAD_INPUT = 2
