"""The bar a strategy sees and its bounded, read-only window of recent bars.

Storage is append-only per (timeframe, symbol): a bar is written once into a preallocated
buffer and never overwritten. When a buffer is full, a *new* buffer receives the last
``keep - 1`` bars and the old one is left untouched, so a window (a pair of indices into one
buffer) always shows exactly the bars it showed when it was handed out: never a later bar, and
never a copy per bar. Arrays are exposed as read-only numpy views.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
from numpy.typing import NDArray

from mqk_schemas import Timeframe
from mqk_strategy._time import us_to_utc

__all__ = ["BarView", "BarWindow", "SeriesBuffer"]

_TS, _OPEN, _HIGH, _LOW, _CLOSE = range(5)
_MIN_CAPACITY = 256


@dataclass(frozen=True, slots=True)
class BarView:
    """One complete bar as a strategy sees it: prices in 1e-8 units, time in epoch microseconds."""

    symbol: str
    timeframe: Timeframe
    ts_close_us: int
    open: int
    high: int
    low: int
    close: int
    volume: float

    @property
    def ts_close_utc(self) -> datetime:
        """Close time as an aware UTC datetime."""
        return us_to_utc(self.ts_close_us)


class SeriesBuffer:
    """Append-only fixed-point storage of one (timeframe, symbol) bar series."""

    __slots__ = ("_capacity", "_count", "_data", "_keep", "_ro", "_ro_volume", "_volume", "last_ts")

    def __init__(self, keep: int) -> None:
        if keep < 1:
            raise ValueError(f"a series buffer keeps at least one bar, not {keep}")
        self._keep = keep
        self._capacity = max(4 * keep, _MIN_CAPACITY)
        self._count = 0
        self.last_ts: int | None = None
        self._allocate()

    def _allocate(self) -> None:
        self._data = np.empty((5, self._capacity), dtype=np.int64)
        self._volume = np.empty(self._capacity, dtype=np.float64)
        self._ro = self._data.view()
        self._ro.flags.writeable = False
        self._ro_volume = self._volume.view()
        self._ro_volume.flags.writeable = False

    @property
    def keep(self) -> int:
        """How many recent bars stay reachable."""
        return self._keep

    def append(self, ts: int, o: int, h: int, low: int, c: int, volume: float) -> None:
        """Store one bar after every bar already stored (the caller checks the order)."""
        n = self._count
        if n == self._capacity:
            old, old_volume = self._data, self._volume
            tail = self._keep - 1
            self._allocate()
            if tail:
                self._data[:, :tail] = old[:, n - tail : n]
                self._volume[:tail] = old_volume[n - tail : n]
            n = tail
        data = self._data
        data[_TS, n] = ts
        data[_OPEN, n] = o
        data[_HIGH, n] = h
        data[_LOW, n] = low
        data[_CLOSE, n] = c
        self._volume[n] = volume
        self._count = n + 1
        self.last_ts = ts

    def window(self, symbol: str, timeframe: Timeframe, size: int) -> BarWindow:
        """The last ``min(size, stored)`` bars as a read-only window (current bar last)."""
        end = self._count
        return BarWindow(symbol, timeframe, self._ro, self._ro_volume, max(0, end - size), end)


class BarWindow:
    """A bounded, read-only window of one symbol's most recent complete bars, oldest first.

    The last element is the bar being handled. Columns are numpy int64 views in 1e-8 units
    (``volume`` is float64); they cannot be written and never show a bar after the current one.
    """

    __slots__ = ("_data", "_end", "_start", "_volume", "symbol", "timeframe")

    def __init__(
        self,
        symbol: str,
        timeframe: Timeframe,
        data: NDArray[np.int64],
        volume: NDArray[np.float64],
        start: int,
        end: int,
    ) -> None:
        self.symbol = symbol
        self.timeframe = timeframe
        self._data = data
        self._volume = volume
        self._start = start
        self._end = end

    def __len__(self) -> int:
        return self._end - self._start

    @property
    def ts_close_us(self) -> NDArray[np.int64]:
        """Close times, epoch microseconds."""
        return self._data[_TS, self._start : self._end]

    @property
    def open(self) -> NDArray[np.int64]:
        """Opens, 1e-8 units."""
        return self._data[_OPEN, self._start : self._end]

    @property
    def high(self) -> NDArray[np.int64]:
        """Highs, 1e-8 units."""
        return self._data[_HIGH, self._start : self._end]

    @property
    def low(self) -> NDArray[np.int64]:
        """Lows, 1e-8 units."""
        return self._data[_LOW, self._start : self._end]

    @property
    def close(self) -> NDArray[np.int64]:
        """Closes, 1e-8 units."""
        return self._data[_CLOSE, self._start : self._end]

    @property
    def volume(self) -> NDArray[np.float64]:
        """Volumes (float64, informational)."""
        return self._volume[self._start : self._end]
