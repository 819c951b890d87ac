"""Reject-storm window: ``max_rejects`` broker rejects within ``window_seconds``."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from mqk_risk._limits import RejectStormLimits
from mqk_risk._state import RecordedReject

__all__ = ["RejectWindow"]


class RejectWindow:
    """Keeps the last ``max_rejects`` rejects and says when they all fall inside the window.

    The window is inclusive: N rejects whose first and last timestamps are exactly
    ``window_seconds`` apart are a storm; N spread over longer are not.
    """

    __slots__ = ("_limits", "_rejects")

    def __init__(self, limits: RejectStormLimits) -> None:
        self._limits = limits
        self._rejects: deque[RecordedReject] = deque(maxlen=limits.max_rejects)

    def add(self, reject: RecordedReject) -> tuple[RecordedReject, ...] | None:
        """Count ``reject``; return the rejects forming a storm, or None."""
        rejects = self._rejects
        rejects.append(reject)
        if len(rejects) < self._limits.max_rejects:
            return None
        times = [item.ts for item in rejects]
        if max(times) - min(times) <= self._limits.window:
            return tuple(rejects)
        return None

    def reset(self) -> None:
        """Forget every counted reject (an operator cleared the storm)."""
        self._rejects.clear()

    def snapshot(self) -> tuple[RecordedReject, ...]:
        """The rejects currently counted, oldest first."""
        return tuple(self._rejects)

    def restore(self, rejects: Iterable[RecordedReject]) -> None:
        """Reload rejects from a snapshot."""
        self._rejects.clear()
        self._rejects.extend(rejects)
