"""The streaming integrity gate: one decision per bar, sticky halts and disarms."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, localcontext
from enum import StrEnum

import numpy as np
import numpy.typing as npt
import polars as pl

from mqk_integrity import _rules as rules
from mqk_integrity._calendar import SessionGrid, ts_to_us, us_to_ts
from mqk_integrity._scan import FrameScan
from mqk_integrity._settings import IntegritySettings
from mqk_integrity.errors import GateUsageError, LookaheadError
from mqk_schemas import Action, Bar, Decision, Timeframe, format_decimal, most_severe, to_utc

__all__ = ["GateState", "IntegrityGate"]

_PRICE_FIELDS = ("open", "high", "low", "close")
_FEED_MEMORY = 4096
"""How many recent (symbol, close time) keys the gate remembers for cross-feed comparison."""


class GateState(StrEnum):
    """The sticky state of a gate: trading allowed, new risk halted, or disarmed."""

    ACTIVE = "ACTIVE"
    HALTED = "HALTED"
    DISARMED = "DISARMED"


_FrameColumns = tuple[npt.NDArray[np.int64], list[str], npt.NDArray[np.int64], pl.Series]
"""Symbol codes, symbol names, close times (epoch µs) and closes of a scanned frame."""


@dataclass(slots=True)
class _Last:
    """The last accepted bar of a symbol (the reference for order, gaps and moves)."""

    ts: datetime
    ts_us: int
    close: Decimal


class IntegrityGate:
    """Checks bars one at a time against the integrity rules (SPEC section 4).

    ``on_bar`` returns the bar's own decision: ALLOW (deliver; an outlier under policy FLAG
    is an ALLOW carrying reason ``OUTLIER_MOVE``), REJECT (never deliver: incomplete,
    malformed, duplicate, out of order, off the calendar, or an outlier under policy REJECT),
    HALT_NEW (deliver, but new risk is halted: a gap, a feed disagreement, an outlier under
    policy HALT_NEW) or DISARM. HALT_NEW and DISARM are sticky: :meth:`status` and
    :attr:`state` report them until an operator calls :meth:`clear`. A complete bar closing
    after the clock raises :class:`~mqk_integrity.LookaheadError` after disarming the gate.

    Time is always passed in (``now``); the gate never reads a clock. ``feeds`` names the
    feeds it watches, the first being the primary feed whose bars drive strategies; bars of
    other feeds are only compared with the primary's (feed disagreement) and keep their feed
    alive (stale feed). ``started_at`` is when the watch begins for feeds not yet heard from.
    """

    def __init__(
        self,
        settings: IntegritySettings,
        timeframe: Timeframe,
        *,
        started_at: datetime,
        feeds: Sequence[str] = ("primary",),
        grid: SessionGrid | None = None,
    ) -> None:
        if not feeds or len(set(feeds)) != len(feeds) or not all(f.strip() for f in feeds):
            raise GateUsageError(f"feeds must be distinct non-empty names, got {list(feeds)}")
        if grid is None:
            grid = SessionGrid(settings.calendar, timeframe)
        elif grid.calendar != settings.calendar or grid.timeframe is not timeframe:
            raise GateUsageError(
                f"grid is {grid.calendar}/{grid.timeframe}, settings ask for"
                f" {settings.calendar}/{timeframe}"
            )
        self._settings = settings
        self._timeframe = timeframe
        self._grid = grid
        self._feeds = tuple(feeds)
        start = to_utc(started_at)
        self._last_seen = dict.fromkeys(self._feeds, start)
        self._stale_after = timedelta(seconds=settings.stale_feed_seconds)
        self._last: dict[str, _Last] = {}
        self._sticky: list[Decision] = []
        self._feed_bars: dict[tuple[str, int], dict[str, Bar]] = {}
        self._ok = Decision.allow()
        self._columns: tuple[FrameScan, _FrameColumns] | None = None

    @property
    def settings(self) -> IntegritySettings:
        """The settings the gate was built with."""
        return self._settings

    @property
    def timeframe(self) -> Timeframe:
        """The only timeframe this gate accepts."""
        return self._timeframe

    @property
    def feeds(self) -> tuple[str, ...]:
        """Watched feeds; the first is the primary feed."""
        return self._feeds

    @property
    def state(self) -> GateState:
        """ACTIVE, HALTED or DISARMED (sticky until :meth:`clear`)."""
        action = self.status().action
        if action is Action.DISARM:
            return GateState.DISARMED
        if action is Action.ALLOW:
            return GateState.ACTIVE
        return GateState.HALTED

    def last_accepted(self, symbol: str) -> tuple[datetime, Decimal] | None:
        """Close time and close of ``symbol``'s last accepted bar (the order/gap/move reference)."""
        last = self._last.get(symbol)
        return None if last is None else (last.ts, last.close)

    def status(self) -> Decision:
        """The most severe sticky decision not yet cleared, or ALLOW ``OK``."""
        return most_severe(self._sticky) if self._sticky else self._ok

    def on_tick(self, feed: str, now: datetime) -> Decision:
        """Record that ``feed`` delivered data at ``now``, then check every feed for staleness."""
        now = to_utc(now)
        self._last_seen[self._feed(feed)] = now
        return self.check_stale(now)

    def check_stale(self, now: datetime) -> Decision:
        """DISARM (sticky) when a feed has been silent longer than ``stale_feed_seconds``."""
        now = to_utc(now)
        for feed in self._feeds:
            seen = self._last_seen[feed]
            if now - seen > self._stale_after:
                decision = rules.stale_feed(feed, seen, now, self._settings.stale_feed_seconds)
                self._stick(decision)
                return decision
        return self._ok

    def on_bar(self, bar: Bar, now: datetime, feed: str | None = None) -> Decision:
        """The decision for ``bar`` arriving from ``feed`` (default: the primary) at ``now``."""
        name = self._feeds[0] if feed is None else self._feed(feed)
        now = to_utc(now)
        self._last_seen[name] = now
        ts = bar.ts_close_utc
        if bar.is_complete and ts > now:
            decision = rules.lookahead(bar.symbol, ts, now)
            self._stick(decision)
            raise LookaheadError(decision)
        if bar.timeframe is not self._timeframe:
            return rules.wrong_timeframe(bar.symbol, ts, str(bar.timeframe), str(self._timeframe))
        if not bar.is_complete:
            return rules.incomplete(bar.symbol, ts)
        values = (bar.open, bar.high, bar.low, bar.close, bar.volume)
        violation = rules.structure_violation(*values)
        if violation is not None:
            return rules.structure(bar.symbol, ts, values, violation)
        if name != self._feeds[0]:
            return self._settle(self._cross_check(bar, name, ts_to_us(ts)))
        return self._primary(bar)

    def fast_forward(self, scan: FrameScan, start: int, stop: int) -> None:
        """Take rows ``start..stop-1`` of ``scan``'s frame as fed, without per-bar calls.

        Every one of those rows must be ALLOW in the scan (use :meth:`FrameScan.next_issue`);
        the gate then holds exactly the state per-bar ``on_bar`` calls would have left, so the
        next bar gets the decision the scan predicts. This is how a backtester skips the gate
        over proven-clean stretches. Sticky state and feed clocks are not touched.
        """
        if scan.settings != self._settings or scan.frame.timeframe is not self._timeframe:
            raise GateUsageError("the scan was made with other settings or another timeframe")
        if not 0 <= start <= stop <= len(scan.frame):
            raise GateUsageError(f"rows {start}..{stop} are outside the frame of {len(scan.frame)}")
        issue = scan.next_issue(start)
        if issue is not None and issue < stop:
            raise GateUsageError(f"row {issue} is not ALLOW; feed it to on_bar")
        if start == stop:
            return
        codes, names, ts_us, closes = self._frame_columns(scan)
        part = codes[start:stop]
        present, first_from_end = np.unique(part[::-1], return_index=True)
        for code, back in zip(present.tolist(), first_from_end.tolist(), strict=True):
            row = stop - 1 - back
            ts = us_to_ts(int(ts_us[row]))
            self._last[names[code]] = _Last(ts, int(ts_us[row]), closes[row])

    def _frame_columns(self, scan: FrameScan) -> _FrameColumns:
        """Symbol codes, names, close times and closes of ``scan``'s frame (computed once)."""
        cached = self._columns
        if cached is not None and cached[0] is scan:
            return cached[1]
        df = scan.frame.frame
        symbols = df.get_column("symbol").to_numpy()
        names, codes = np.unique(symbols, return_inverse=True)
        columns = (
            codes.astype(np.int64),
            [str(n) for n in names.tolist()],
            df.get_column("ts_close_utc").dt.epoch("us").to_numpy().astype(np.int64),
            df.get_column("close"),
        )
        self._columns = (scan, columns)
        return columns

    def clear(self, *, reason: str, operator: str, now: datetime) -> Decision:
        """Clear every sticky halt/disarm; returns the ALLOW record of what was cleared."""
        if not reason.strip() or not operator.strip():
            raise GateUsageError("clearing needs a non-empty reason and operator")
        if not self._sticky:
            raise GateUsageError("nothing to clear: the gate is ACTIVE")
        record = rules.cleared(operator, reason, to_utc(now), self._sticky)
        self._sticky = []
        return record

    def _feed(self, feed: str) -> str:
        if feed not in self._last_seen:
            raise GateUsageError(f"unknown feed {feed!r}; this gate watches {list(self._feeds)}")
        return feed

    def _primary(self, bar: Bar) -> Decision:
        symbol, ts = bar.symbol, bar.ts_close_utc
        ts_us = ts_to_us(ts)
        last = self._last.get(symbol)
        if last is not None and ts_us <= last.ts_us:
            if ts_us == last.ts_us:
                return rules.duplicate(symbol, ts)
            return rules.out_of_order(symbol, ts, last.ts)
        grid = self._grid
        pos, on_grid = grid.locate_one(ts_us)
        if not on_grid:
            following = grid.close_at(pos) if pos < grid.closes.size else None
            return rules.off_calendar(
                symbol, ts, self._settings.calendar, str(self._timeframe), following
            )
        found: list[Decision] = []
        if last is not None:
            prev_pos, _ = grid.locate_one(last.ts_us)  # covered already: no reload
            missing = pos - prev_pos - 1
            if missing > self._settings.gap_tolerance_bars:
                found.append(
                    rules.gap(
                        symbol,
                        last.ts,
                        ts,
                        missing,
                        self._settings.gap_tolerance_bars,
                        grid.close_at(prev_pos + 1),
                        grid.close_at(pos - 1),
                    )
                )
            fraction = self._settings.outlier_move_fraction
            if rules.is_outlier(last.close, bar.close, fraction):
                found.append(
                    rules.outlier(
                        symbol, ts, last.close, bar.close, fraction, self._settings.outlier_policy
                    )
                )
        self._last[symbol] = _Last(ts, ts_us, bar.close)
        if len(self._feeds) > 1:
            cross = self._cross_check(bar, self._feeds[0], ts_us)
            if cross is not self._ok:
                found.append(cross)
        return self._settle(rules.combine(found) if found else self._ok)

    def _settle(self, decision: Decision) -> Decision:
        if decision.action in (Action.HALT_NEW, Action.DISARM):
            self._stick(decision)
        return decision

    def _stick(self, decision: Decision) -> None:
        """Remember a halt/disarm; a repeat of the same cause for the same subject is kept once."""
        key = _subject(decision)
        if all(_subject(d) != key for d in self._sticky):
            self._sticky.append(decision)

    def _cross_check(self, bar: Bar, feed: str, ts_us: int) -> Decision:
        """Compare ``bar`` with the same bar from the other feeds; remember it for later ones."""
        key = (bar.symbol, ts_us)
        seen = self._feed_bars.get(key)
        if seen is None:
            seen = self._feed_bars[key] = {}
            if len(self._feed_bars) > _FEED_MEMORY:
                del self._feed_bars[next(iter(self._feed_bars))]
        tolerance = self._settings.feed_disagreement_bps
        result = self._ok
        for other in self._feeds:
            earlier = seen.get(other)
            if other == feed or earlier is None:
                continue
            worst = _worst_field(earlier, bar)
            if worst is None:
                continue
            field, diff = worst
            reference = getattr(earlier, field)
            with localcontext() as ctx:
                ctx.prec = 100
                beyond = diff * 10_000 > tolerance * reference
            if beyond:
                result = rules.feed_disagreement(
                    bar.symbol,
                    bar.ts_close_utc,
                    field,
                    rules.disagreement_bps(reference, getattr(bar, field)),
                    tolerance,
                    {other: _ohlc(earlier), feed: _ohlc(bar)},
                )
                break
        seen[feed] = bar
        return result


def _worst_field(reference: Bar, other: Bar) -> tuple[str, Decimal] | None:
    """The price field with the largest relative difference, and its absolute difference."""
    best: tuple[str, Decimal] | None = None
    best_ratio = Decimal(0)
    with localcontext() as ctx:
        ctx.prec = 100
        for field in _PRICE_FIELDS:
            ref: Decimal = getattr(reference, field)
            diff = abs(getattr(other, field) - ref)
            ratio = diff / ref
            if diff and (best is None or ratio > best_ratio):
                best, best_ratio = (field, diff), ratio
    return best


def _subject(decision: Decision) -> tuple[str, object, object]:
    evidence = decision.evidence
    return decision.reason_code, evidence.get("feed"), evidence.get("symbol")


def _ohlc(bar: Bar) -> dict[str, str]:
    return {field: format_decimal(getattr(bar, field)) for field in _PRICE_FIELDS}
