"""The vectorised frame scan gives, row for row, the decisions of the streaming gate."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cache

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from mqk_integrity import (
    GateUsageError,
    IntegrityGate,
    IntegritySettings,
    OutlierPolicy,
    SessionGap,
    SessionGrid,
    UnknownCalendarError,
    scan_frame,
    synth_bars,
)
from mqk_integrity._calendar import ts_to_us, us_to_ts
from mqk_integrity._scan import _NO_TIME, _sequence
from mqk_schemas import BAR_FRAME_SCHEMA, Action, BarFrame, Timeframe


def _settings(**overrides: object) -> IntegritySettings:
    fields: dict[str, object] = {
        "calendar": "XNYS",
        "gap_tolerance_bars": 0,
        "stale_feed_seconds": 300,
        "feed_disagreement_bps": Decimal(50),
        "outlier_move_fraction": Decimal("0.2"),
        "outlier_policy": OutlierPolicy.FLAG,
    }
    fields.update(overrides)
    return IntegritySettings.model_validate(fields)


def _frame(timeframe: Timeframe, rows: list[dict[str, object]]) -> BarFrame:
    columns = {name: [row[name] for row in rows] for name in BAR_FRAME_SCHEMA}
    return BarFrame(timeframe, pl.DataFrame(columns, schema=BAR_FRAME_SCHEMA))


def _row(
    ts: datetime,
    close: Decimal,
    *,
    symbol: str = "AAPL",
    bad_ohlc: bool = False,
    complete: bool = True,
) -> dict[str, object]:
    low = close + 1 if bad_ohlc else close - Decimal("0.5")
    return {
        "symbol": symbol,
        "ts_close_utc": ts,
        "open": close,
        "high": close + Decimal("0.5") + (2 if bad_ohlc else 0),
        "low": low,
        "close": close,
        "volume": Decimal(100),
        "is_complete": complete,
    }


def _gate_decisions(frame: BarFrame, config: IntegritySettings) -> list:
    ts = frame.frame.get_column("ts_close_utc")
    gate = IntegrityGate(config, frame.timeframe, started_at=ts.min())  # type: ignore[arg-type]
    now: datetime = ts.max()  # type: ignore[assignment]
    return [gate.on_bar(bar, now) for bar in frame.to_bars()]


@cache
def _base_grid(calendar: str, timeframe: Timeframe) -> SessionGrid:
    grid = SessionGrid(calendar, timeframe)
    grid.ensure(
        ts_to_us(datetime(2021, 1, 1, tzinfo=UTC)), ts_to_us(datetime(2023, 12, 31, tzinfo=UTC))
    )
    return grid


OPS = ["keep"] * 8 + ["drop", "drop", "dup", "swap", "offgrid", "incomplete", "bad_ohlc"]
MOVES = [Decimal(m) for m in ("-0.3", "-0.12", "-0.02", "0", "0.01", "0.03", "0.11", "0.25")]


@st.composite
def random_series(draw: st.DrawFn) -> tuple[BarFrame, IntegritySettings]:
    """Grid-aligned bars of 1-3 symbols with gaps, duplicates, swaps, off-grid and bad bars."""
    calendar = draw(st.sampled_from(["XNYS", "24/7"]))
    timeframe = draw(st.sampled_from([Timeframe.D1, Timeframe.H1, Timeframe.M30]))
    config = _settings(
        calendar=calendar,
        gap_tolerance_bars=draw(st.integers(0, 2)),
        outlier_move_fraction=draw(
            st.sampled_from([Decimal("0.05"), Decimal("0.1"), Decimal("0.2")])
        ),
        outlier_policy=draw(st.sampled_from(list(OutlierPolicy))),
    )
    closes = _base_grid(calendar, timeframe).closes
    lo = int(closes.searchsorted(ts_to_us(datetime(2021, 2, 1, tzinfo=UTC))))
    hi = int(closes.searchsorted(ts_to_us(datetime(2023, 11, 1, tzinfo=UTC))))
    rows: list[dict[str, object]] = []
    for symbol in ["AAA", "BBB", "CCC"][: draw(st.integers(1, 3))]:
        start = draw(st.integers(lo, hi))
        n = draw(st.integers(1, 30))
        price = Decimal(100)
        series: list[dict[str, object]] = []
        for k in range(n):
            op = draw(st.sampled_from(OPS))
            price = max(  # >= 1: the low (close - 0.5) of a well-formed bar stays positive
                Decimal(1),
                (price * (1 + draw(st.sampled_from(MOVES)))).quantize(Decimal("0.01")),
            )
            ts = us_to_ts(int(closes[start + k]))
            if op == "drop":
                continue
            if op == "offgrid":
                ts += timedelta(minutes=draw(st.sampled_from([1, 7, 60 * 24 * 3])))
            row = _row(
                ts, price, symbol=symbol, bad_ohlc=op == "bad_ohlc", complete=op != "incomplete"
            )
            series.append(row)
            if op == "dup":
                series.append(dict(row))
            if op == "swap" and len(series) >= 2:
                series[-1], series[-2] = series[-2], series[-1]
        rows.extend(series)
    if not rows:
        rows.append(_row(us_to_ts(int(closes[lo])), Decimal(100)))
    if draw(st.booleans()):  # interleave symbols by time instead of grouping them
        rows.sort(key=lambda r: r["ts_close_utc"])  # type: ignore[arg-type, return-value]
    return _frame(timeframe, rows), config


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_series())
def invariant_scan_and_gate_agree_bar_for_bar(case: tuple[BarFrame, IntegritySettings]) -> None:
    frame, config = case
    scan = scan_frame(frame, config)
    gate_decisions = _gate_decisions(frame, config)
    assert [scan.decision_at(i) for i in range(len(frame))] == gate_decisions
    assert [scan.action_at(i) for i in range(len(frame))] == [d.action for d in gate_decisions]
    for decision in gate_decisions:
        event(f"{decision.action} {decision.reason_code}")
    issues = [i for i, d in enumerate(gate_decisions) if d.action is not Action.ALLOW]
    assert scan.issue_rows.tolist() == issues
    assert scan.first_issue == (issues[0] if issues else None)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_series())
def invariant_skipping_clean_stretches_gives_the_same_decisions_at_every_issue(
    case: tuple[BarFrame, IntegritySettings],
) -> None:
    frame, config = case
    scan = scan_frame(frame, config)
    ts = frame.frame.get_column("ts_close_utc")
    now: datetime = ts.max()  # type: ignore[assignment]
    every = IntegrityGate(config, frame.timeframe, started_at=ts.min())  # type: ignore[arg-type]
    skipping = IntegrityGate(config, frame.timeframe, started_at=ts.min())  # type: ignore[arg-type]
    expected = [every.on_bar(bar, now) for bar in frame.to_bars()]
    row = 0
    while row < len(frame):
        issue = scan.next_issue(row)
        stop = len(frame) if issue is None else issue
        skipping.fast_forward(scan, row, stop)
        if issue is None:
            break
        assert skipping.on_bar(frame.row(issue), now) == expected[issue]
        row = issue + 1
    assert skipping.status() == every.status()
    for symbol in frame.symbols:
        assert skipping.last_accepted(symbol) == every.last_accepted(symbol)


def fault_fast_forward_refuses_rows_that_are_not_clean() -> None:
    rows = [_row(datetime(2022, 1, d, 21, tzinfo=UTC), Decimal(100)) for d in (3, 4, 6)]
    frame = _frame(Timeframe.D1, rows)
    config = _settings()
    scan = scan_frame(frame, config)
    gate = IntegrityGate(config, Timeframe.D1, started_at=datetime(2022, 1, 3, tzinfo=UTC))
    with pytest.raises(GateUsageError, match="row 2 is not ALLOW"):
        gate.fast_forward(scan, 0, 3)
    with pytest.raises(GateUsageError, match="other settings"):
        gate.fast_forward(scan_frame(frame, _settings(gap_tolerance_bars=1)), 0, 3)
    gate.fast_forward(scan, 0, 2)
    decision = gate.on_bar(frame.row(2), now=datetime(2022, 1, 7, tzinfo=UTC))
    assert decision == scan.decision_at(2)
    assert decision.evidence["previous_ts_close_utc"] == "2022-01-04T21:00:00Z"


def scenario_clean_synthetic_frame_has_no_issue() -> None:
    frame = synth_bars(
        symbols=["AAPL", "MSFT"], timeframe=Timeframe.D1, start=date(2022, 1, 3), bars=300, seed=1
    )
    scan = scan_frame(frame, _settings())
    assert (scan.clean, scan.first_issue, scan.first_decision) == (True, None, None)
    assert (scan.gap_count, scan.missing_bar_count, scan.rejected_count) == (0, 0, 0)
    assert scan.gaps_by_session == ()
    assert scan.next_issue(0) is None


def scenario_weekend_and_holiday_are_not_gaps_but_a_missing_wednesday_is() -> None:
    days = [(1, 13), (1, 14), (1, 18), (1, 20), (1, 21), (1, 24)]  # MLK 17th, Wed 19th missing
    rows = [_row(datetime(2022, m, d, 21, tzinfo=UTC), Decimal(100)) for m, d in days]
    scan = scan_frame(_frame(Timeframe.D1, rows), _settings())
    assert scan.issue_rows.tolist() == [3]
    assert scan.gaps_by_session == (SessionGap("AAPL", date(2022, 1, 19), 1),)
    assert scan.first_decision is not None
    assert (scan.first_decision.action, scan.first_decision.reason_code) == (
        Action.HALT_NEW,
        "GAP_DETECTED",
    )
    assert scan.next_issue(4) is None


def scenario_overnight_gap_is_split_over_the_sessions_it_spans() -> None:
    times = [
        datetime(2022, 1, 4, 18, 30, tzinfo=UTC),
        datetime(2022, 1, 4, 19, 30, tzinfo=UTC),
        # missing: 20:30 and 21:00 on the 4th, 15:30 and 16:30 on the 5th
        datetime(2022, 1, 5, 17, 30, tzinfo=UTC),
    ]
    rows = [_row(ts, Decimal(50)) for ts in times]
    scan = scan_frame(_frame(Timeframe.H1, rows), _settings())
    assert (scan.gap_count, scan.missing_bar_count) == (1, 4)
    assert scan.gaps_by_session == (
        SessionGap("AAPL", date(2022, 1, 4), 2),
        SessionGap("AAPL", date(2022, 1, 5), 2),
    )


def scenario_outliers_are_counted_under_every_policy() -> None:
    closes = ["100", "130", "129", "90", "91"]
    rows = [
        _row(datetime(2022, 1, d, 21, tzinfo=UTC), Decimal(c))
        for d, c in zip((3, 4, 5, 6, 7), closes, strict=True)
    ]
    frame = _frame(Timeframe.D1, rows)
    for policy, issues in [
        (OutlierPolicy.FLAG, []),
        (OutlierPolicy.REJECT, [1, 3]),
        (OutlierPolicy.HALT_NEW, [1, 3]),
    ]:
        scan = scan_frame(frame, _settings(outlier_policy=policy))
        assert scan.outlier_rows.tolist() == [1, 3]
        assert scan.issue_rows.tolist() == issues
    flagged = scan_frame(frame, _settings()).decision_at(1)
    assert (flagged.action, flagged.reason_code) == (Action.ALLOW, "OUTLIER_MOVE")
    assert flagged.evidence["move_fraction"] == "0.3"


def scenario_rejections_are_counted_and_do_not_move_the_reference() -> None:
    rows = [
        _row(datetime(2022, 1, 3, 21, tzinfo=UTC), Decimal(100)),
        _row(datetime(2022, 1, 4, 21, tzinfo=UTC), Decimal(100), bad_ohlc=True),
        _row(datetime(2022, 1, 4, 21, tzinfo=UTC), Decimal(100)),
        _row(datetime(2022, 1, 4, 21, tzinfo=UTC), Decimal(100)),
        _row(datetime(2022, 1, 5, 21, tzinfo=UTC), Decimal(100), complete=False),
        _row(datetime(2022, 1, 5, 21, tzinfo=UTC), Decimal(100)),
    ]
    scan = scan_frame(_frame(Timeframe.D1, rows), _settings())
    assert [scan.decision_at(i).reason_code for i in range(6)] == [
        "OK",
        "BAR_STRUCTURE",
        "OK",
        "DUPLICATE_BAR",
        "BAR_INCOMPLETE",
        "OK",
    ]
    assert (scan.rejected_count, scan.first_issue, scan.next_issue(2)) == (3, 1, 3)


def unit_off_calendar_rows_are_the_rows_rejected_for_closing_off_the_grid() -> None:
    rows = [
        _row(datetime(2022, 1, 3, 21, tzinfo=UTC), Decimal(100)),
        _row(datetime(2022, 1, 4, 15, tzinfo=UTC), Decimal(100)),  # mid-session
        _row(datetime(2022, 1, 4, 21, tzinfo=UTC), Decimal(100), bad_ohlc=True),
        _row(datetime(2022, 1, 8, 21, tzinfo=UTC), Decimal(100)),  # a Saturday
        _row(datetime(2022, 1, 10, 21, tzinfo=UTC), Decimal(100)),
    ]
    scan = scan_frame(_frame(Timeframe.D1, rows), _settings())
    assert scan.off_calendar_rows.tolist() == [1, 3]
    assert [scan.decision_at(i).reason_code for i in (1, 2, 3)] == [
        "BAR_OFF_CALENDAR",
        "BAR_STRUCTURE",
        "BAR_OFF_CALENDAR",
    ]


def fault_scan_with_an_unknown_calendar_is_a_typed_error() -> None:
    frame = _frame(Timeframe.D1, [_row(datetime(2022, 1, 3, 21, tzinfo=UTC), Decimal(1))])
    with pytest.raises(UnknownCalendarError):
        scan_frame(frame, _settings(calendar="NOWHERE"))


def fault_grid_of_another_calendar_is_refused() -> None:
    frame = _frame(Timeframe.D1, [_row(datetime(2022, 1, 3, 21, tzinfo=UTC), Decimal(1))])
    with pytest.raises(GateUsageError, match="grid"):
        scan_frame(frame, _settings(), grid=SessionGrid("24/7", Timeframe.D1))


def unit_empty_frame_scans_clean() -> None:
    scan = scan_frame(_frame(Timeframe.D1, []), _settings())
    assert (scan.clean, scan.first_issue, len(scan.codes)) == (True, None, 0)


def _sequence_row_by_row(
    symbols: list[str], ts: list[int], ok: list[bool]
) -> tuple[list[int], list[int]]:
    """The reference of ``_sequence``: walk the rows in order, one state per symbol."""
    latest: dict[str, int] = {}
    last_valid: dict[str, int] = {}
    last_max, previous = [], []
    for row, (symbol, t, passes) in enumerate(zip(symbols, ts, ok, strict=True)):
        before = latest.get(symbol, _NO_TIME)
        last_max.append(before)
        previous.append(last_valid.get(symbol, -1))
        if passes:
            latest[symbol] = max(before, t)
            if before == _NO_TIME or t > before:
                last_valid[symbol] = row
    return last_max, previous


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["A", "B", "C"]), st.integers(0, 6), st.booleans()),
        max_size=40,
    ),
    st.booleans(),
)
def invariant_sequence_of_grouped_and_interleaved_rows_matches_a_row_by_row_walk(
    rows: list[tuple[str, int, bool]], grouped: bool
) -> None:
    if grouped:  # a bar frame's usual order (each symbol's rows one slice)
        rows = sorted(rows, key=lambda r: r[0])
    symbols = [r[0] for r in rows]
    ts = np.array([r[1] for r in rows], dtype=np.int64)
    ok = np.array([r[2] for r in rows], dtype=np.bool_)
    last_max, previous = _sequence(pl.Series(symbols, dtype=pl.String), ts, ok)
    expected = _sequence_row_by_row(symbols, ts.tolist(), ok.tolist())
    assert (last_max.tolist(), previous.tolist()) == expected
