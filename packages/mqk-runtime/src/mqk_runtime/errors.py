"""Exceptions raised by :mod:`mqk_runtime`.

Kill switches (stale feed, reconcile drift, reject storm, drawdown, ...) are *decisions*
recorded on the run, never exceptions; these errors are for input that cannot be run at all
and for state that cannot be trusted.

::

    MqkRuntimeError                 base of every error raised here
    ├── RuntimeInputError           bad input (bars, config, run id, failpoint); nothing run
    │   └── BarsMismatchError       resuming a run with bars other than the ones it started on
    ├── ResumeRefusedError          the run cannot be resumed (HALTED, STOPPED, other engine)
    ├── LifecycleOrderError         a lifecycle call out of order (running the feed before begin)
    └── PaperJournalError           the paper broker's journal cannot be replayed faithfully
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "BarsMismatchError",
    "LifecycleOrderError",
    "MqkRuntimeError",
    "PaperJournalError",
    "ResumeRefusedError",
    "RuntimeInputError",
]


class MqkRuntimeError(Exception):
    """Base class of every error raised by mqk_runtime."""

    reason_code: str = "RUNTIME_ERROR"

    def __init__(self, message: str, evidence: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.evidence: dict[str, Any] = dict(evidence or {})


class RuntimeInputError(MqkRuntimeError, ValueError):
    """Bad input: the message names the file, field or rule; nothing was run or written."""

    reason_code = "RUNTIME_INVALID_INPUT"


class BarsMismatchError(RuntimeInputError):
    """A run is resumed with a bar file whose content differs from the one it started on."""

    reason_code = "RESUME_BARS_MISMATCH"


class ResumeRefusedError(MqkRuntimeError):
    """The run cannot be resumed: it is HALTED or STOPPED, or belongs to another engine/mode."""

    reason_code = "RESUME_REFUSED"


class LifecycleOrderError(MqkRuntimeError):
    """A lifecycle call came out of order (e.g. running the feed of a run not yet begun)."""

    reason_code = "RUNTIME_LIFECYCLE_ORDER"


class PaperJournalError(MqkRuntimeError):
    """The paper broker's journal is inconsistent (a replay would not rebuild its state)."""

    reason_code = "PAPER_JOURNAL_CORRUPT"
