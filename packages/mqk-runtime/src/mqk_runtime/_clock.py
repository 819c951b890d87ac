"""Clocks handed to the runtime: a replay clock (as fast as possible) and the wall clock.

The runtime never reads time itself. It asks its clock for ``now()`` and, before handling a
bar, calls ``wait_until(bar close)``: the wall clock sleeps until then (a live feed delivers
bars as they close), the replay clock simply jumps there, so a replayed feed runs as fast as
the machine allows. Neither clock moves backwards.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from mqk_schemas import to_utc

__all__ = ["ReplayClock", "RuntimeClock", "WallClock"]


class RuntimeClock(Protocol):
    """The time source of a run (real or simulated)."""

    def now(self) -> datetime:
        """The current UTC time."""
        ...

    def wait_until(self, ts: datetime) -> None:
        """Return once ``now() >= ts`` (immediately when that already holds)."""
        ...


class ReplayClock:
    """Simulated time: ``wait_until`` jumps forward at once; ``advance`` adds a delay."""

    def __init__(self, start: datetime) -> None:
        self._now = to_utc(start)

    def now(self) -> datetime:
        """The simulated current time."""
        return self._now

    def wait_until(self, ts: datetime) -> None:
        """Jump to ``ts`` unless the clock is already past it."""
        ts = to_utc(ts)
        if ts > self._now:
            self._now = ts

    def advance(self, delta: timedelta) -> None:
        """Move simulated time forward by ``delta`` (a stalled feed, a slow step)."""
        if delta < timedelta(0):
            raise ValueError(f"a clock never moves backwards (advance by {delta})")
        self._now += delta

    def __call__(self) -> datetime:
        return self._now


class WallClock:
    """The real UTC clock; ``wait_until`` sleeps (through the injectable ``sleep``)."""

    def __init__(
        self,
        *,
        source: Callable[[], datetime] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._source = source or (lambda: datetime.now(UTC))
        self._sleep = sleep

    def now(self) -> datetime:
        """The current UTC time."""
        return to_utc(self._source())

    def wait_until(self, ts: datetime) -> None:
        """Sleep until ``ts``."""
        ts = to_utc(ts)
        while (remaining := (ts - self.now()).total_seconds()) > 0:
            self._sleep(remaining)

    def __call__(self) -> datetime:
        return self.now()
