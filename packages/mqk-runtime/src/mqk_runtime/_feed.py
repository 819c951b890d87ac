"""Bar feeds: what the runtime loop consumes, one complete bar at a time, in time order."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from itertools import islice
from typing import Protocol

from mqk_schemas import Bar, BarFrame, Timeframe, format_decimal, format_utc

__all__ = ["BarFeed", "ReplayFeed", "steps", "steps_before"]


class BarFeed(Protocol):
    """A source of bars of one timeframe, in close-time order (ties by symbol).

    ``bars_from(index)`` restarts the stream at the ``index``-th bar, so a resumed run can
    continue exactly where its last completed cycle left off. ``digest`` identifies the content.
    """

    @property
    def timeframe(self) -> Timeframe:
        """The timeframe of every bar."""
        ...

    @property
    def digest(self) -> str:
        """SHA-256 of the feed's content (symbol, close time and OHLCV of every bar)."""
        ...

    def __len__(self) -> int: ...

    def bars_from(self, index: int) -> Iterator[Bar]:
        """Bars ``index``, ``index + 1``, ... in order."""
        ...


class ReplayFeed:
    """A recorded feed (a validated :class:`~mqk_schemas.BarFrame`) replayed in time order."""

    def __init__(self, frame: BarFrame) -> None:
        ordered = frame.frame.sort(["ts_close_utc", "symbol"], maintain_order=True)
        self._timeframe = frame.timeframe
        self._bars: tuple[Bar, ...] = tuple(
            Bar(timeframe=frame.timeframe, **row) for row in ordered.iter_rows(named=True)
        )
        self._digest = _digest(self._bars)

    @classmethod
    def from_bars(cls, timeframe: Timeframe, bars: Sequence[Bar]) -> ReplayFeed:
        """A feed over row bars (sorted here)."""
        return cls(BarFrame.from_bars(timeframe, list(bars)))

    @property
    def timeframe(self) -> Timeframe:
        """The timeframe of every bar."""
        return self._timeframe

    @property
    def digest(self) -> str:
        """SHA-256 of the content (order-independent of how the file was sorted)."""
        return self._digest

    @property
    def bars(self) -> tuple[Bar, ...]:
        """Every bar, in time order."""
        return self._bars

    def __len__(self) -> int:
        return len(self._bars)

    def bars_from(self, index: int) -> Iterator[Bar]:
        """Bars from ``index`` on."""
        if index < 0 or index > len(self._bars):
            raise IndexError(f"bar index {index} is outside 0..{len(self._bars)}")
        return iter(self._bars[index:])


def _digest(bars: Sequence[Bar]) -> str:
    hasher = hashlib.sha256()
    for bar in bars:
        line = ",".join(
            (
                bar.symbol,
                format_utc(bar.ts_close_utc),
                *(format_decimal(v) for v in (bar.open, bar.high, bar.low, bar.close, bar.volume)),
            )
        )
        hasher.update(line.encode() + b"\n")
    return hasher.hexdigest()


def steps(feed: BarFeed, start: int) -> Iterator[list[tuple[int, Bar]]]:
    """The feed from ``start`` in steps: consecutive bars sharing one close time."""
    step: list[tuple[int, Bar]] = []
    for index, bar in enumerate(feed.bars_from(start), start=start):
        if step and bar.ts_close_utc != step[0][1].ts_close_utc:
            yield step
            step = []
        step.append((index, bar))
    if step:
        yield step


def steps_before(feed: BarFeed, cursor: int) -> int:
    """How many steps the first ``cursor`` bars make."""
    return len({bar.ts_close_utc for bar in islice(feed.bars_from(0), cursor)})
