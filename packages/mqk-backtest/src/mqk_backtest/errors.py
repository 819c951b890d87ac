"""Exceptions raised by :mod:`mqk_backtest`.

::

    BacktestError                 base of every error raised here
    ├── BacktestInputError        the request cannot be run (no bars, wrong timeframe, bad option)
    ├── ArtifactError             a run directory is missing a file or holds a malformed one
    └── ReplayError               a replay could not be attempted (data file missing, ...)
"""

from __future__ import annotations

__all__ = ["ArtifactError", "BacktestError", "BacktestInputError", "ReplayError"]


class BacktestError(Exception):
    """Base class of every error raised by mqk_backtest."""

    reason_code: str = "BACKTEST_ERROR"


class BacktestInputError(BacktestError, ValueError):
    """The backtest request cannot be run as given."""

    reason_code = "BACKTEST_INPUT"


class ArtifactError(BacktestError):
    """A run directory is incomplete or holds a malformed artifact."""

    reason_code = "ARTIFACT_INVALID"


class ReplayError(BacktestError):
    """A replay could not be attempted."""

    reason_code = "REPLAY_IMPOSSIBLE"
