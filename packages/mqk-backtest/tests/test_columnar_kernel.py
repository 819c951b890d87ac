"""The columnar kernel is fast mode's path for the common envelope: same results as bar by bar.

Random intraday series through the kernel with the product's real limits (allocation caps,
position and exposure limits, drawdown and daily-loss switches) and hand-picked scenarios:
refusals re-plan, a tripped switch flattens and halts, and what the kernel does not model
(long/short flips, protective stops, integrity issues) goes to the step engine with a reason.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import polars as pl
import pytest
from backtest_support import SAMPLE_COSTS, d, events_of, make_config, request, run_both_modes
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from mqk_backtest import run_backtest
from mqk_backtest._columns import utc_texts
from mqk_backtest._stream import record_json
from mqk_integrity import synth_bars
from mqk_schemas import BarFrame, Timeframe, event_id, format_utc

# the shipped default limits (config/default.yaml), not the tests' loose ones
PRODUCT_RISK: dict[str, Any] = {
    "daily_loss_limit": d("0.02"),
    "max_drawdown": d("0.10"),
    "max_position_quantity": d(1000),
    "max_position_notional": d(50000),
    "max_gross_exposure": d("1.0"),
    "max_leverage": d("1.0"),
}


def _bars(symbols: list[str], timeframe: str, bars: int, seed: int) -> BarFrame:
    return synth_bars(
        symbols=symbols,
        timeframe=Timeframe(timeframe),
        start=date(2024, 3, 4),
        bars=bars,
        seed=seed,
        calendar="XNYS",
    )


def _config(strategy: str, params: dict[str, Any], timeframe: str, **sections: Any) -> Any:
    risk = {**PRODUCT_RISK, **sections.pop("risk", {})}
    engine = {"timeframe": timeframe, **sections.pop("engine", {})}
    return make_config(
        strategy, params, engine=engine, data={"calendar": "XNYS"}, risk=risk, **sections
    )


@settings(
    max_examples=30, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    symbols=st.sampled_from([["AAA"], ["AAA"], ["AAA", "BBB"], ["AAA", "BBB", "CCC"]]),
    timeframe=st.sampled_from(["1m", "30m", "1h"]),
    seed=st.integers(0, 2**16),
    fast=st.integers(2, 5),
    gap=st.integers(1, 6),
    qty=st.sampled_from([10, 100, 300, 600]),
    costs=st.booleans(),
    max_drawdown=st.sampled_from(["0.005", "0.02", "0.1"]),
    daily_loss=st.sampled_from(["0.003", "0.02"]),
)
def invariant_columnar_kernel_equals_bar_by_bar(
    symbols: list[str],
    timeframe: str,
    seed: int,
    fast: int,
    gap: int,
    qty: int,
    costs: bool,
    max_drawdown: str,
    daily_loss: str,
) -> None:
    config = _config(
        "sma_cross",
        {"fast": fast, "slow": fast + gap, "qty": qty},
        timeframe,
        risk={"max_drawdown": d(max_drawdown), "daily_loss_limit": d(daily_loss)},
        execution=SAMPLE_COSTS if costs else {},
    )
    result = run_both_modes(request(config, _bars(symbols, timeframe, 240, seed)))
    event(f"columnar: {result.columnar} ({(result.columnar_note or '').split(':')[-1][:40]})")
    event(f"refusals: {bool(events_of(result, 'ORDER_REFUSED'))}")
    event(f"halted: {(result.halted or 'no').split(' ')[0]}")


def scenario_ten_symbols_hit_the_engine_cap_and_the_kernel_replans() -> None:
    symbols = [f"S{i:02d}" for i in range(10)]
    config = _config("sma_cross", {"fast": 3, "slow": 7, "qty": 100}, "1m")
    result = run_both_modes(request(config, _bars(symbols, "1m", 300, 5)))

    assert (result.columnar, result.columnar_note) == (True, None)
    refused = events_of(result, "ORDER_REFUSED")
    assert refused, "the cap must refuse some entries"
    assert {e["payload"]["check"] for e in refused} <= {"ALLOCATION", "RISK"}
    assert all(e["payload"]["side"] == "BUY" for e in refused)
    assert len(result.fills) > 100


def scenario_a_drawdown_trip_flattens_and_refuses_entries_inside_the_kernel() -> None:
    config = _config(
        "sma_cross", {"fast": 2, "slow": 5, "qty": 500}, "1h", risk={"max_drawdown": d("0.02")}
    )
    result = run_both_modes(request(config, _bars(["AAPL"], "1h", 400, 11)))

    assert (result.columnar, result.columnar_note) == (True, None)
    assert (result.halted or "").startswith("KILL_SWITCH_MAX_DRAWDOWN")
    decisions = events_of(result, "DECISION")
    assert [e["payload"]["action"] for e in decisions] == ["FLATTEN_AND_HALT"]
    trip = decisions[0]["seq"]
    after = [e for e in result.events if e["seq"] > trip]
    assert after[0]["event_type"] == "ORDER_SENT"
    assert after[0]["payload"]["reduce_only"] is True
    refused = [e for e in after if e["event_type"] == "ORDER_REFUSED"]
    assert refused
    assert {e["payload"]["reason_code"] for e in refused} == {"RISK_HALTED"}
    assert not [e for e in after[2:] if e["event_type"] == "ORDER_SENT"]


@pytest.mark.parametrize(
    ("strategy", "params", "sections", "frame", "note"),
    [
        pytest.param(
            "atr_trend_swing",
            {"breakout": 3, "atr_period": 3, "atr_multiple": d(2), "qty": 10},
            {},
            None,
            "protective stops or take-profits",
            id="protective-stops",
        ),
        pytest.param(
            "sma_cross",
            {"fast": 2, "slow": 4, "qty": 10},
            {"engine": {"shadow": True}},
            None,
            "shadow mode",
            id="shadow",
        ),
        pytest.param(
            "sma_cross",
            {"fast": 2, "slow": 4, "qty": 10},
            {"execution": {"latency_bars": {"submit": 1}}},
            None,
            "submit latency or same-bar fills",
            id="latency",
        ),
        pytest.param(
            "sma_cross",
            {"fast": 2, "slow": 4, "qty": 10},
            {"execution": {"partial_fills": {"enabled": True, "probability": d("0.5")}}},
            None,
            "partial fills",
            id="partial-fills",
        ),
        pytest.param(
            "sma_cross",
            {"fast": 2, "slow": 4, "qty": 10},
            {},
            "gap",
            "the integrity scan found issues, outliers or gaps",
            id="missing-bar",
        ),
    ],
)
def fault_what_the_kernel_does_not_model_goes_to_the_step_engine(
    strategy: str,
    params: dict[str, Any],
    sections: dict[str, Any],
    frame: str | None,
    note: str,
) -> None:
    bars = _bars(["AAPL"], "1h", 200, 3)
    if frame == "gap":
        keep = pl.Series([i != 120 for i in range(bars.frame.height)])
        bars = BarFrame(bars.timeframe, bars.frame.filter(keep))
    config = _config(strategy, params, "1h", **sections)
    result = run_both_modes(request(config, bars))

    assert result.columnar is False
    assert result.columnar_note == note


def scenario_a_long_to_short_flip_is_a_reduce_only_close_then_the_opening_rest() -> None:
    config = _config(
        "zscore_mean_reversion",
        {"window": 6, "entry_z": d("0.5"), "exit_z": d(0), "qty": 10, "allow_short": True},
        "1h",
        risk={"allow_short": True},
    )
    result = run_both_modes(request(config, _bars(["AAPL"], "1h", 200, 3)))

    assert (result.columnar, result.columnar_note) == (True, None)
    sent = events_of(result, "ORDER_SENT")
    pairs = [
        (first["payload"], second["payload"])
        for first, second in itertools.pairwise(sent)
        if first["ts_utc"] == second["ts_utc"]
    ]
    assert pairs, "the series must flip at least once"
    for close, opening in pairs:
        assert close["reduce_only"] is True
        assert opening["reduce_only"] is False
        assert close["side"] == opening["side"]
        assert opening["intent_seq"] == close["intent_seq"] + 1


@settings(
    max_examples=15, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    seed=st.integers(0, 2**16),
    window=st.integers(3, 8),
    entry=st.sampled_from(["0.5", "1", "1.5"]),
    qty=st.sampled_from([10, 300, 600]),
    costs=st.booleans(),
    max_drawdown=st.sampled_from(["0.01", "0.1"]),
)
def invariant_long_short_strategies_run_through_the_kernel_as_bar_by_bar(
    seed: int, window: int, entry: str, qty: int, costs: bool, max_drawdown: str
) -> None:
    config = _config(
        "zscore_mean_reversion",
        {"window": window, "entry_z": d(entry), "exit_z": d(0), "qty": qty, "allow_short": True},
        "1h",
        risk={"allow_short": True, "max_drawdown": d(max_drawdown)},
        execution=SAMPLE_COSTS if costs else {},
    )
    result = run_both_modes(request(config, _bars(["AAA", "BBB"], "1h", 200, seed)))
    event(f"columnar: {result.columnar} ({(result.columnar_note or '').split(':')[-1][:40]})")
    event(f"halted: {(result.halted or 'no').split(' ')[0]}")


def unit_reference_mode_never_uses_the_kernel() -> None:
    config = _config("sma_cross", {"fast": 2, "slow": 4, "qty": 10}, "1h")
    result = run_backtest(request(config, _bars(["AAPL"], "1h", 100, 3)), mode="reference")

    assert (result.columnar, result.columnar_note) == (False, "the step engine was asked for")


def unit_the_kernel_keeps_decimal_identity_of_fills() -> None:
    """Orders and fills are the same values and types as the step engine's."""
    config = _config("sma_cross", {"fast": 2, "slow": 4, "qty": 10}, "1h", execution=SAMPLE_COSTS)
    result = run_both_modes(request(config, _bars(["AAPL"], "1h", 150, 9)))

    assert result.columnar
    for fill in result.fills:
        assert isinstance(fill.price, Decimal)
        assert isinstance(fill.fee, Decimal)
        assert fill.fee >= Decimal("1")  # the commission minimum applies per order


@pytest.mark.parametrize(
    "text",
    [
        "1970-01-01T00:00:00Z",
        "2024-03-04T15:00:00Z",
        "2024-02-29T23:59:59.000001Z",
        "2031-12-31T20:59:00.5Z",
    ],
)
def unit_vectorised_timestamps_render_as_the_event_stream_does(text: str) -> None:
    ts = datetime.fromisoformat(text.replace("Z", "+00:00"))
    us = (ts - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    assert utc_texts(np.array([us, us], dtype=np.int64)) == [format_utc(ts)] * 2


def invariant_the_compact_event_log_reads_back_as_canonical_records() -> None:
    """The stream keeps payloads as canonical JSON; reading it back gives the envelope dicts
    whose canonical JSON is exactly the audit line text."""
    config = _config(
        "sma_cross", {"fast": 2, "slow": 5, "qty": 500}, "1h", risk={"max_drawdown": d("0.02")}
    )
    result = run_backtest(request(config, _bars(["AAPL"], "1h", 400, 11)))
    events = result.events
    records = list(events)

    assert list(events.lines()) == [record_json(record) for record in records]
    assert {e["event_type"] for e in records} >= {"DECISION", "ORDER_REFUSED", "FILL_APPLIED"}
    run_id = result.request.run_id
    assert [e["event_id"] for e in records] == [
        str(event_id(run_id, i)) for i in range(len(events))
    ]
    assert [e["seq"] for e in records] == list(range(len(events)))
    assert events[-1] == records[-1]
    assert events[2:5] == records[2:5]
    assert events == records


@pytest.mark.parametrize(
    ("layout", "reordered"),
    [
        pytest.param("engine order", False, id="already-in-engine-order"),
        pytest.param("symbol by symbol", True, id="symbol-major-file"),
        pytest.param("reversed", False, id="out-of-time-order-needs-a-sorted-copy"),
    ],
)
def invariant_columns_are_in_engine_order_however_the_file_is_laid_out(
    layout: str, reordered: bool
) -> None:
    from mqk_backtest._columns import columns_of

    bars = _bars(["AAA", "BBB", "CCC"], "1h", 60, 4)  # written symbol by symbol
    engine = bars.frame.sort(["ts_close_utc", "symbol"], maintain_order=True)
    frame = {
        "engine order": engine,
        "symbol by symbol": bars.frame,
        "reversed": bars.frame.reverse(),
    }[layout]
    expected = columns_of(BarFrame(bars.timeframe, engine))
    got = columns_of(BarFrame(bars.timeframe, frame), sorted_copy=False)

    assert (got.order is not None) is reordered
    for name in ("sym", "ts", "open", "high", "low", "close", "volume", "complete"):
        assert np.array_equal(getattr(got, name), getattr(expected, name)), name
    assert np.array_equal(got.step_start, expected.step_start)
    assert got.symbols == expected.symbols


@pytest.mark.parametrize(
    "text",
    ["AAPL", "BRK.B", "BTC/USD", 'a"b', "a\\b", "é", "\x01x", "\x7f", "tab\there", "", None],
)
def unit_hand_rendered_strings_are_the_json_encoders(text: str | None) -> None:
    import json

    from mqk_backtest._stream import json_text

    assert json_text(text) == json.dumps(text, ensure_ascii=False)
