"""Vectorised precheck of a whole bar frame: the streaming gate's per-bar decisions at once.

For the rules that depend only on the data (completeness, structure, order and duplicates,
calendar grid, gaps in session bars, outliers) :func:`scan_frame` computes, for every row,
exactly the decision :meth:`IntegrityGate.on_bar` returns when the rows are fed to a fresh
gate in frame order with a clock at or after each close. A backtester uses it to skip per-bar
gate calls over stretches proven clean (see :meth:`FrameScan.next_issue`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

import numpy as np
import numpy.typing as npt
import polars as pl

from mqk_integrity import _rules as rules
from mqk_integrity._calendar import I64Array, SessionGrid, us_to_ts
from mqk_integrity._settings import IntegritySettings, OutlierPolicy
from mqk_integrity.errors import GateUsageError
from mqk_schemas import PRICE_SCALE, Action, BarFrame, Decision

__all__ = ["FrameScan", "SessionGap", "scan_frame"]

_VALID, _INCOMPLETE, _STRUCTURE, _DUPLICATE, _OUT_OF_ORDER, _OFF_CALENDAR = range(6)
_ACTIONS = (Action.ALLOW, Action.REJECT, Action.HALT_NEW)
_POLICY_CODE = {OutlierPolicy.FLAG: 0, OutlierPolicy.REJECT: 1, OutlierPolicy.HALT_NEW: 2}
_NONE = -1
_EPOCH_DAY = date(1970, 1, 1)


@dataclass(frozen=True, slots=True)
class SessionGap:
    """Session bars of ``symbol`` missing in session ``session`` (gaps beyond the tolerance)."""

    symbol: str
    session: date
    missing_bars: int


@dataclass(frozen=True, slots=True)
class FrameScan:
    """Per-row integrity decisions of a bar frame, computed vectorised.

    Row ``i`` is row ``i`` of ``frame.frame``. ``issue_rows`` are the rows whose decision is
    not ALLOW, ``outlier_rows`` the rows whose close moved beyond the threshold (whatever the
    policy), ``gap_rows`` the rows that follow a gap beyond the tolerance.
    """

    frame: BarFrame
    settings: IntegritySettings
    codes: npt.NDArray[np.int8]
    actions: npt.NDArray[np.int8]
    previous_row: I64Array
    last_accepted_us: I64Array
    grid_pos: I64Array
    grid_closes: I64Array
    gap_rows: I64Array
    outlier_rows: I64Array
    issue_rows: I64Array
    missing_bars: I64Array
    gaps_by_session: tuple[SessionGap, ...]

    @property
    def clean(self) -> bool:
        """True when every row is ALLOWed (flagged outliers included)."""
        return self.issue_rows.size == 0

    @property
    def first_issue(self) -> int | None:
        """Index of the first row whose decision is not ALLOW, or None."""
        return int(self.issue_rows[0]) if self.issue_rows.size else None

    @property
    def first_decision(self) -> Decision | None:
        """The decision of :attr:`first_issue`, or None when the frame is clean."""
        first = self.first_issue
        return None if first is None else self.decision_at(first)

    @property
    def gap_count(self) -> int:
        """Gaps beyond the tolerance (each a HALT_NEW in the gate)."""
        return int(self.gap_rows.size)

    @property
    def missing_bar_count(self) -> int:
        """Session bars missing in the gaps beyond the tolerance."""
        return int(self.missing_bars[self.gap_rows].sum()) if self.gap_rows.size else 0

    @property
    def outlier_count(self) -> int:
        """Rows whose close-to-close move exceeds ``outlier_move_fraction``."""
        return int(self.outlier_rows.size)

    @property
    def rejected_count(self) -> int:
        """Rows the gate REJECTs (they would never reach a strategy)."""
        return int(np.count_nonzero(self.actions == 1))

    @property
    def off_calendar_rows(self) -> I64Array:
        """Rows REJECTed because they do not close on a bar close of the timeframe and
        calendar (``BAR_OFF_CALENDAR``), in row order."""
        return np.flatnonzero(self.codes == _OFF_CALENDAR).astype(np.int64)

    def next_issue(self, start: int) -> int | None:
        """First row at or after ``start`` whose decision is not ALLOW (rows before are clean)."""
        k = int(np.searchsorted(self.issue_rows, start, side="left"))
        return int(self.issue_rows[k]) if k < self.issue_rows.size else None

    def action_at(self, row: int) -> Action:
        """The action of row ``row`` without building the full decision."""
        return _ACTIONS[int(self.actions[row])]

    def decision_at(self, row: int) -> Decision:
        """The decision the streaming gate returns for row ``row``."""
        values = self.frame.frame.row(row, named=True)
        symbol: str = values["symbol"]
        ts: datetime = values["ts_close_utc"]
        code = int(self.codes[row])
        if code == _INCOMPLETE:
            return rules.incomplete(symbol, ts)
        if code == _STRUCTURE:
            ohlcv = (
                values["open"],
                values["high"],
                values["low"],
                values["close"],
                values["volume"],
            )
            violation = rules.structure_violation(*ohlcv) or "malformed"
            return rules.structure(symbol, ts, ohlcv, violation)
        if code == _DUPLICATE:
            return rules.duplicate(symbol, ts)
        if code == _OUT_OF_ORDER:
            return rules.out_of_order(symbol, ts, us_to_ts(int(self.last_accepted_us[row])))
        if code == _OFF_CALENDAR:
            pos = int(self.grid_pos[row])
            following = (
                us_to_ts(int(self.grid_closes[pos])) if pos < self.grid_closes.size else None
            )
            return rules.off_calendar(
                symbol, ts, self.settings.calendar, str(self.frame.timeframe), following
            )
        found: list[Decision] = []
        prev = int(self.previous_row[row])
        if prev != _NONE:
            before = self.frame.frame.row(prev, named=True)
            missing = int(self.missing_bars[row])
            tolerance = self.settings.gap_tolerance_bars
            if missing > tolerance:
                pos = int(self.grid_pos[row])
                found.append(
                    rules.gap(
                        symbol,
                        before["ts_close_utc"],
                        ts,
                        missing,
                        tolerance,
                        us_to_ts(int(self.grid_closes[pos - missing])),
                        us_to_ts(int(self.grid_closes[pos - 1])),
                    )
                )
            fraction = self.settings.outlier_move_fraction
            previous_close: Decimal = before["close"]
            if rules.is_outlier(previous_close, values["close"], fraction):
                found.append(
                    rules.outlier(
                        symbol,
                        ts,
                        previous_close,
                        values["close"],
                        fraction,
                        self.settings.outlier_policy,
                    )
                )
        return rules.combine(found) if found else Decision.allow()


def _fraction_units(fraction: Decimal) -> tuple[int, int]:
    """``fraction`` as an exact ratio ``numerator / 10**PRICE_SCALE``."""
    scaled = fraction.scaleb(PRICE_SCALE)
    if scaled != scaled.to_integral_value():
        raise GateUsageError(f"outlier_move_fraction {fraction} has more than 8 decimals")
    return int(scaled), 10**PRICE_SCALE


def scan_frame(
    frame: BarFrame, settings: IntegritySettings, *, grid: SessionGrid | None = None
) -> FrameScan:
    """Per-row decisions of ``frame`` (see :class:`FrameScan`), computed vectorised.

    The session grid is computed once for the frame's whole time range. Raises
    :class:`~mqk_integrity.UnknownCalendarError` for an unknown ``settings.calendar``.
    """
    if grid is None:
        grid = SessionGrid(settings.calendar, frame.timeframe)
    elif grid.calendar != settings.calendar or grid.timeframe is not frame.timeframe:
        raise GateUsageError(
            f"grid is {grid.calendar}/{grid.timeframe}, scan asks for"
            f" {settings.calendar}/{frame.timeframe}"
        )
    df = frame.frame
    ts = _int64_column(df.get_column("ts_close_utc").dt.epoch("us"))
    pos, on_grid = grid.locate(ts)
    structure_ok = _structure_ok(df)
    complete = df.get_column("is_complete").to_numpy()
    v0 = complete & structure_ok & on_grid
    last_max, previous = _sequence(df.get_column("symbol"), ts, v0)
    del v0
    codes = _codes(ts, last_max, complete, structure_ok, on_grid)
    del ts, complete, structure_ok, on_grid  # the 1M-row inputs are done with: free them first
    invalid = codes != _VALID
    previous[invalid] = _NONE  # a row that is not valid has no previous row of its own
    del invalid
    has_prev = previous != _NONE
    missing = _missing(pos, previous, has_prev)
    gap = has_prev & (missing > settings.gap_tolerance_bars)
    outlier = _outliers(df, previous, has_prev, settings.outlier_move_fraction)
    del has_prev
    actions = np.where(outlier, np.int8(_POLICY_CODE[settings.outlier_policy]), np.int8(0))
    actions[gap] = np.maximum(actions[gap], np.int8(2))
    actions[codes != _VALID] = 1
    gap_rows = np.flatnonzero(gap)
    del gap
    return FrameScan(
        frame=frame,
        settings=settings,
        codes=codes,
        actions=actions,
        previous_row=previous,
        last_accepted_us=last_max,
        grid_pos=pos,
        grid_closes=grid.closes,
        gap_rows=gap_rows,
        outlier_rows=np.flatnonzero(outlier),
        issue_rows=np.flatnonzero(actions),
        missing_bars=missing,
        gaps_by_session=_gaps_by_session(df.get_column("symbol"), gap_rows, pos, missing, grid),
    )


def _int64_column(series: pl.Series) -> I64Array:
    """An Int64 column without nulls as one numpy array, copied chunk by chunk (numpy's own
    memory, reused by the scan's later arrays once freed)."""
    out = np.empty(series.len(), dtype=np.int64)
    offset = 0
    for chunk in series.get_chunks():
        out[offset : offset + chunk.len()] = chunk.to_numpy()
        offset += chunk.len()
    return out


def _codes(
    ts: I64Array,
    last_max: I64Array,
    complete: npt.NDArray[np.bool_],
    structure_ok: npt.NDArray[np.bool_],
    on_grid: npt.NDArray[np.bool_],
) -> npt.NDArray[np.int8]:
    """The first per-bar rule each row breaks, in the gate's order (``_VALID`` if none)."""
    order_ok = (last_max == _NO_TIME) | (ts > last_max)
    codes = np.full(ts.size, _VALID, dtype=np.int8)
    # later assignments take precedence: the gate's last check first
    codes[~on_grid] = _OFF_CALENDAR
    codes[~order_ok] = _OUT_OF_ORDER
    codes[~order_ok & (ts == last_max)] = _DUPLICATE
    codes[~structure_ok] = _STRUCTURE
    codes[~complete] = _INCOMPLETE
    return codes


def _missing(pos: I64Array, previous: I64Array, has_prev: npt.NDArray[np.bool_]) -> I64Array:
    """Grid points strictly between each row with a previous valid row and that row."""
    missing = np.take(pos, previous, mode="clip")  # row 0's position where there is none
    np.subtract(pos, missing, out=missing)
    missing -= 1
    missing[~has_prev] = 0
    return missing


_NO_TIME = np.iinfo(np.int64).min
_PRICES = ("open", "high", "low", "close")


def _structure_ok(df: pl.DataFrame) -> npt.NDArray[np.bool_]:
    """low <= min(open, close) <= max(open, close) <= high, 0 < prices < 1e18, volume >= 0."""
    i128 = pl.Int128
    zero, max_units = pl.lit(0, i128), pl.lit(int(rules.MAX_PRICE.scaleb(PRICE_SCALE)), i128)
    o, h, lo, c, v = (pl.col(k).to_physical() for k in (*_PRICES, "volume"))
    prices = (o, h, lo, c)
    ok = (
        pl.all_horizontal(*(p > zero for p in prices))
        & pl.all_horizontal(*(p < max_units for p in prices))
        & (v >= zero)
        & (lo <= o)  # low <= min(open, close) and max(open, close) <= high, pairwise
        & (lo <= c)
        & (o <= h)
        & (c <= h)
    )
    result: npt.NDArray[np.bool_] = df.select(ok=ok).get_column("ok").to_numpy()
    return result


def _sequence(
    symbols: pl.Series, ts: I64Array, v0: npt.NDArray[np.bool_]
) -> tuple[I64Array, I64Array]:
    """Per row, within its symbol and in row order: the latest close time among earlier rows
    that pass the per-bar checks (``_NO_TIME`` if none), and the index of the last earlier row
    that is fully valid (``_NONE`` if none).

    Rows failing the per-bar checks never become the reference, and a row that is out of
    order is never later than the running maximum, so the maximum over rows passing the
    per-bar checks equals the maximum over valid rows: one vectorised pass suffices.
    """
    n = ts.size
    last_max = np.empty(n, dtype=np.int64)
    previous = np.empty(n, dtype=np.int64)
    if n == 0:
        return last_max, previous
    if not symbols.has_nulls() and symbols.is_sorted():
        # a bar frame's usual order: each symbol's rows are one slice, no gathering needed
        start = 0
        while start < n:
            end = int(symbols.search_sorted(symbols[start], side="right"))
            _symbol_sequence(
                ts[start:end], v0[start:end], start, last_max[start:end], previous[start:end]
            )
            start = end
        return last_max, previous
    codes = symbols.cast(pl.Categorical).to_physical().to_numpy()
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    starts = np.flatnonzero(np.concatenate(([True], sorted_codes[1:] != sorted_codes[:-1])))
    ends = np.append(starts[1:], n)
    for lo, hi in zip(starts.tolist(), ends.tolist(), strict=True):
        rows = order[lo:hi]  # one symbol's rows, in row order
        symbol_max = np.empty(rows.size, dtype=np.int64)
        symbol_previous = np.empty(rows.size, dtype=np.int64)
        _symbol_sequence(ts[rows], v0[rows], 0, symbol_max, symbol_previous)
        last_max[rows] = symbol_max
        previous[rows] = np.where(
            symbol_previous != _NONE, rows[np.maximum(symbol_previous, 0)], _NONE
        )
    return last_max, previous


def _symbol_sequence(
    t: I64Array, ok: npt.NDArray[np.bool_], first_row: int, last_max: I64Array, previous: I64Array
) -> None:
    """:func:`_sequence` for the rows of one symbol (row ``first_row`` onwards, in order),
    written into ``last_max`` and ``previous``."""
    # written in place into the outputs: no full-size temporaries
    before = last_max[1:]  # row k + 1's reference: the running maximum over rows 0..k
    np.copyto(before, t[:-1])
    before[~ok[:-1]] = _NO_TIME
    np.maximum.accumulate(before, out=before)
    last_max[0] = _NO_TIME
    valid = ok & ((last_max == _NO_TIME) | (t > last_max))
    latest = previous[1:]  # row k + 1's previous valid row: the last valid one of rows 0..k
    for lo in range(0, latest.size, _BLOCK_ROWS):
        hi = min(lo + _BLOCK_ROWS, latest.size)
        latest[lo:hi] = np.arange(first_row + lo, first_row + hi, dtype=np.int64)
    latest[~valid[:-1]] = _NONE
    np.maximum.accumulate(latest, out=latest)
    previous[0] = _NONE


_BLOCK_ROWS = 1 << 15
"""Rows handled at a time where a full-size temporary would otherwise be needed."""


def _outliers(
    df: pl.DataFrame, previous: I64Array, has_prev: npt.NDArray[np.bool_], fraction: Decimal
) -> npt.NDArray[np.bool_]:
    """|close - previous close| * 10^8 > fraction * 10^8 * previous close, in exact integers,
    for the rows with a previous row (False elsewhere)."""
    numerator, denominator = _fraction_units(fraction)
    close = df.get_column("close").to_physical()
    scale = pl.Series([denominator], dtype=pl.Int128)
    limit_scale = pl.Series([numerator], dtype=pl.Int128)
    result = np.zeros(previous.size, dtype=np.bool_)
    for lo in range(0, previous.size, _BLOCK_ROWS):
        hi = min(lo + _BLOCK_ROWS, previous.size)
        rows = lo + np.flatnonzero(has_prev[lo:hi])
        if rows.size == 0:
            continue
        now = close.gather(pl.Series(rows))
        before = close.gather(pl.Series(previous[rows]))
        moved = (now - before).abs() * scale
        result[rows] = (moved > before * limit_scale).to_numpy()
    return result


def _gaps_by_session(
    symbols: pl.Series,
    gap_rows: I64Array,
    pos: I64Array,
    missing: I64Array,
    grid: SessionGrid,
) -> tuple[SessionGap, ...]:
    """Missing grid points of each gap, attributed to the sessions they belong to."""
    if gap_rows.size == 0:
        return ()
    session_days = grid.session_days
    first = pos[gap_rows] - missing[gap_rows]  # first missing grid index
    last = pos[gap_rows] - 1
    starts = np.flatnonzero(np.diff(session_days, prepend=session_days[0] - 1))
    ends = np.append(starts[1:], session_days.size) - 1
    s_first = np.searchsorted(starts, first, side="right") - 1
    s_last = np.searchsorted(starts, last, side="right") - 1
    spans = s_last - s_first + 1
    event = np.repeat(np.arange(gap_rows.size), spans)
    session = np.repeat(s_first, spans) + (
        np.arange(spans.sum()) - np.repeat(np.cumsum(spans) - spans, spans)
    )
    count = np.minimum(last[event], ends[session]) - np.maximum(first[event], starts[session]) + 1
    table = (
        pl.DataFrame(
            {
                "symbol": symbols.gather(gap_rows[event]),
                "day": session_days[starts[session]],
                "missing": count,
            }
        )
        .group_by("symbol", "day")
        .agg(pl.col("missing").sum())
        .sort("symbol", "day")
    )
    return tuple(
        SessionGap(sym, _EPOCH_DAY + timedelta(days=int(day)), int(n))
        for sym, day, n in table.iter_rows()
    )
