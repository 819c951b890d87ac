"""Golden end-to-end scenarios: exact orders, fills, fees, equity and the ordered event types.

Each scenario is a handful of daily bars on the 24/7 calendar (bar ``i`` closes on
2024-01-0``i+1`` 00:00Z) and a scripted strategy (``backtest_support.ScriptStrategy``) or a
builtin. Every run is made in fast AND reference mode, which must give identical events and
equity (``run_both_modes``); ``result.mode == "fast"`` proves the fast path really ran.
Unless a test says otherwise every cost is zero, so fills happen at bar prices.
"""

from __future__ import annotations

from decimal import Decimal
from itertools import pairwise

from backtest_support import (
    d,
    daily_bars,
    equity_decimals,
    event_types,
    events_of,
    fills_table,
    flat_bar,
    make_config,
    orders_table,
    plan,
    registry,
    request,
    run_both_modes,
)

from mqk_backtest import metrics_of, write_artifacts

SENT = "OMS/ORDER_SENT"
SUBMITTED = "BROKER/ORDER_SUBMITTED"
FILLED = "BROKER/ORDER_FILLED"
APPLIED = "LEDGER/FILL_APPLIED"
CANCELED = "BROKER/ORDER_CANCELED"
STARTED = "RUNTIME/BACKTEST_STARTED"
FINISHED = "RUNTIME/BACKTEST_FINISHED"
ENTRY = [SENT, SUBMITTED, FILLED, APPLIED]


def _ts(day: int) -> str:
    return f"2024-01-{day:02d}T00:00:00+00:00"


def scenario_trend_up_with_protective_stop_pays_exact_costs() -> None:
    # Shipped default costs: half spread 1 bps + slippage 5 bps + 0.1 x the bar's range in bps
    # (cap 50), commission 0.005/share with a 1.00 minimum, rounded against the trader.
    costs = {
        "spread_bps": d(2),
        "slippage_bps": d(5),
        "slippage_volatility_multiplier": d("0.1"),
        "slippage_cap_bps": d(50),
        "commission_per_share": d("0.005"),
        "commission_bps": d(0),
        "commission_minimum": d(1),
    }
    rows = [
        flat_bar(100),
        flat_bar(100),
        (100, 101, 99, 100),  # bar 2: the script goes long 100 with a stop at 95
        (100, 102, 98, 101),  # entry at the open: range 400 bps -> cost 1 + 5 + 40 = 46 bps
        (101, 103, "100.5", "102.5"),
        ("102.5", 105, 102, "104.5"),
        ("104.5", 107, 104, 106),
        (106, 108, "105.5", "107.5"),  # bar 7: the script goes flat (stop canceled)
        (108, "108.4", "107.6", 108),  # exit at the open: cost 6 + 800/108 bps
        flat_bar(108),
    ]
    config = make_config("script", plan(b2=(100, 95), b7=(0, None)), execution=costs)
    result = run_both_modes(request(config, daily_bars(rows)), registry())

    assert result.mode == "fast"
    # buy: 100 * 1.0046 = 100.46; sell: 108 - 108 * (6 + 800/108) / 10000 = 107.8552 -> 107.85
    assert fills_table(result) == [
        (_ts(4), "BUY", d(100), d("100.46"), d("1.00")),
        (_ts(9), "SELL", d(100), d("107.85"), d("1.00")),
    ]
    assert orders_table(result) == [
        ("BUY", "MARKET", "", d(100), "FILLED"),
        ("SELL", "STOP", "95", d(100), "CANCELED"),
        ("SELL", "MARKET", "", d(100), "FILLED"),
    ]
    assert event_types(result) == [
        STARTED,
        *ENTRY,
        SUBMITTED,  # the protective stop, created when the entry filled
        SENT,  # the exit ...
        SUBMITTED,
        "OMS/CANCEL_SENT",  # ... once accepted, cancels the protection (never before)
        CANCELED,
        FILLED,
        APPLIED,
        FINISHED,
    ]
    cash_in_trade = d(100_000) - d(10_046) - 1
    assert equity_decimals(result) == [
        d(100_000),
        d(100_000),
        d(100_000),
        cash_in_trade + 100 * d(101),
        cash_in_trade + 100 * d("102.5"),
        cash_in_trade + 100 * d("104.5"),
        cash_in_trade + 100 * d(106),
        cash_in_trade + 100 * d("107.5"),
        d("100737.00"),
        d("100737.00"),
    ]
    assert result.final_cash == result.final_equity == d("100737.00")
    # commissions 1 + 1, plus spread and slippage against the open: (100.46 - 100) x 100 = 46
    # on the entry and (108 - 107.85) x 100 = 15 on the exit
    assert result.costs_paid == d(63)
    assert [(t.pnl, t.quantity) for t in result.trades] == [(d("737.00"), d(100))]
    assert (result.halted, result.disarmed, result.ambiguous_bars) == (None, None, 0)


def scenario_gap_down_through_the_stop_fills_at_the_open() -> None:
    rows = [
        flat_bar(100),
        flat_bar(100),
        flat_bar(100),  # bar 2: long 100, stop 95
        (100, 101, 99, 100),  # entry at 100
        (100, 101, 98, 99),  # stop rests at 95, not touched
        (90, 92, 89, 91),  # opens at 90, through the stop: fills at 90, not 95
        flat_bar(91),
    ]
    config = make_config("script", plan(b2=(100, 95), b5=(0, None)))
    result = run_both_modes(request(config, daily_bars(rows)), registry())

    assert result.mode == "fast"
    assert fills_table(result) == [
        (_ts(4), "BUY", d(100), d(100), d(0)),
        (_ts(6), "SELL", d(100), d(90), d(0)),
    ]
    assert orders_table(result) == [
        ("BUY", "MARKET", "", d(100), "FILLED"),
        ("SELL", "STOP", "95", d(100), "FILLED"),
    ]
    assert event_types(result) == [STARTED, *ENTRY, SUBMITTED, FILLED, APPLIED, FINISHED]
    assert equity_decimals(result) == [d(100_000)] * 4 + [d(99_900)] + [d(99_000)] * 2
    assert result.final_equity == d(99_000)
    assert [t.pnl for t in result.trades] == [d(-1000)]


def scenario_bar_touching_stop_and_target_fills_the_stop_and_counts_the_ambiguous_bar() -> None:
    """Bar 5 (open 100, high 112, low 94) touches the stop at 95 and the take-profit at 110.

    CONSERVATIVE_WORST_CASE must fill the stop and count the bar as ambiguous. The script's
    plan carries the take-profit as its third element (``ProtectiveStop.take_profit``), which
    the simulation submits as the bracket's target leg.
    """
    rows = [
        flat_bar(100),
        flat_bar(100),
        flat_bar(100),  # bar 2: long 100, stop 95, take-profit 110
        flat_bar(100),  # entry at 100
        (100, 101, 99, 100),
        (100, 112, 94, 100),  # touches both legs; the open reached neither
        flat_bar(100),
    ]
    config = make_config("script", plan(b2=(100, 95, 110), b5=(0, None)))
    result = run_both_modes(request(config, daily_bars(rows)), registry())

    assert fills_table(result) == [
        (_ts(4), "BUY", d(100), d(100), d(0)),
        (_ts(6), "SELL", d(100), d(95), d(0)),
    ]
    assert result.final_equity == d(99_500)
    assert result.ambiguous_bars == 1
    assert metrics_of(result)["ambiguous_bars_worst_case"] == 1
    assert orders_table(result) == [
        ("BUY", "MARKET", "", d(100), "FILLED"),
        ("SELL", "STOP", "95", d(100), "FILLED"),
        ("SELL", "LIMIT", "110", d(100), "CANCELED"),
    ]
    assert event_types(result) == [
        STARTED,
        *ENTRY,
        SUBMITTED,  # the stop leg
        SUBMITTED,  # the take-profit leg
        FILLED,
        APPLIED,
        CANCELED,
        FINISHED,
    ]
    assert events_of(result, "ORDER_CANCELED")[0]["payload"]["reason"] == "OCO"


def scenario_chop_with_zscore_mean_reversion_buys_dips_and_exits_at_the_mean() -> None:
    # window 4, entry_z 1.2, exit_z 0.2 (population z of the close over the last 4 closes):
    # bar 4 close 95: z = -1.66 -> long; bar 5 close 99: z = 0 -> flat;
    # bar 8 close 107: z = +1.62, shorts not allowed -> nothing;
    # bar 10 close 94: z = -1.36 -> long; bar 11 close 101: z = 0.11 -> flat.
    closes = [100, 102, 100, 102, 95, 99, 102, 100, 107, 100, 94, 101, 100, 102]
    rows = [(closes[0], closes[0], closes[0], closes[0])]
    for before, close in pairwise(closes):
        rows.append((before, max(before, close), min(before, close), close))
    params = {"window": 4, "entry_z": d("1.2"), "exit_z": d("0.2"), "qty": 100}
    config = make_config("zscore_mean_reversion", {**params, "allow_short": False})
    result = run_both_modes(request(config, daily_bars(rows)), registry())

    assert result.mode == "fast"
    assert fills_table(result) == [
        (_ts(6), "BUY", d(100), d(95), d(0)),
        (_ts(7), "SELL", d(100), d(99), d(0)),
        (_ts(12), "BUY", d(100), d(94), d(0)),
        (_ts(13), "SELL", d(100), d(101), d(0)),
    ]
    assert event_types(result) == [STARTED, *ENTRY * 4, FINISHED]
    assert [e["payload"]["reduce_only"] for e in events_of(result, "ORDER_SENT")] == [
        False,
        True,
        False,
        True,
    ]
    assert [t.pnl for t in result.trades] == [d(400), d(700)]
    assert result.final_equity == d(101_100)
    # bar 5: bought at its open 95, marked at its close 99; bar 11: bought at 94, close 101
    assert equity_decimals(result) == [d(100_000)] * 5 + [d(100_400)] * 6 + [d(101_100)] * 3


def scenario_missing_bar_halts_new_entries_but_lets_the_position_close(tmp_path) -> None:
    rows = [flat_bar(100)] * 12
    # bar 6 is missing; the script wants to add 100 at bar 8 and to go flat at bar 10
    config = make_config("script", plan(b2=(100, None), b8=(200, None), b10=(0, None)))
    result = run_both_modes(request(config, daily_bars(rows, skip=[6])), registry())

    assert result.mode == "fast"
    assert event_types(result) == [
        STARTED,
        *ENTRY,
        "MARKET/DECISION",  # HALT_NEW at bar 7, the first bar after the hole
        "OMS/ORDER_REFUSED",  # the add at bar 8 is risk-increasing: refused
        "RISK/DECISION",
        *ENTRY,  # the exit at bar 10 reduces risk: allowed through the halt
        FINISHED,
    ]
    halt = events_of(result, "DECISION")[0]
    assert halt["ts_utc"] == "2024-01-08T00:00:00Z"
    assert (halt["payload"]["action"], halt["payload"]["reason_code"]) == (
        "HALT_NEW",
        "GAP_DETECTED",
    )
    assert halt["payload"]["evidence"]["first_missing_close_utc"] == "2024-01-07T00:00:00Z"
    refused = events_of(result, "ORDER_REFUSED")[0]["payload"]
    assert (refused["side"], refused["quantity"], refused["reason_code"]) == (
        "BUY",
        "100",
        "GAP_DETECTED",
    )
    sent = events_of(result, "ORDER_SENT")
    assert [(e["ts_utc"], e["payload"]["side"]) for e in sent] == [
        ("2024-01-03T00:00:00Z", "BUY"),
        ("2024-01-11T00:00:00Z", "SELL"),
    ]
    assert fills_table(result) == [
        (_ts(4), "BUY", d(100), d(100), d(0)),
        (_ts(12), "SELL", d(100), d(100), d(0)),
    ]
    assert result.halted == "GAP_DETECTED at 2024-01-08T00:00:00+00:00"
    assert result.disarmed is None
    assert metrics_of(result)["halted"] == result.halted
    write_artifacts(result, tmp_path)
    assert "GAP_DETECTED at 2024-01-08" in (tmp_path / "report.html").read_text(encoding="utf-8")


def scenario_stale_feed_disarms_and_nothing_is_ordered_afterwards() -> None:
    rows = [flat_bar(100)] * 10
    # bars 6 and 7 missing: 3 days of silence > stale_feed_seconds (2 days); the gap itself
    # is within gap_tolerance_bars, so the stale feed alone stops the run
    config = make_config(
        "script",
        plan(b2=(100, None), b9=(0, None)),
        data={"stale_feed_seconds": 172_800, "gap_tolerance_bars": 5},
    )
    result = run_both_modes(request(config, daily_bars(rows, skip=[6, 7])), registry())

    assert result.mode == "fast"
    assert event_types(result) == [STARTED, *ENTRY, "MARKET/DECISION", FINISHED]
    disarm = events_of(result, "DECISION")[0]
    assert disarm["ts_utc"] == "2024-01-09T00:00:00Z"
    assert (disarm["payload"]["action"], disarm["payload"]["reason_code"]) == (
        "DISARM",
        "STALE_FEED",
    )
    # disarmed: not even the risk-reducing exit the script asks for at bar 9 is sent
    assert len(result.orders) == 1
    assert result.disarmed == "STALE_FEED at 2024-01-09T00:00:00+00:00"
    assert result.halted is None
    assert result.final_equity == d(100_000)
    assert metrics_of(result)["disarmed"] == result.disarmed


def scenario_drawdown_breach_flattens_reduce_only_and_halts_entries() -> None:
    rows = [flat_bar(100)] * 4 + [(100, 100, 90, 90), (90, 90, 88, 88)] + [flat_bar(88)] * 6
    # long 500 at 100; the close of 90 puts equity at 95,000 = 5% below the 100,000 peak
    config = make_config(
        "script", plan(b2=(500, None), b8=(500, None)), risk={"max_drawdown": d("0.05")}
    )
    result = run_both_modes(request(config, daily_bars(rows)), registry())

    assert result.mode == "fast"
    assert event_types(result) == [
        STARTED,
        *ENTRY,
        "RISK/DECISION",
        SENT,  # the reduce-only flatten
        SUBMITTED,
        "RISK/ORDER_REFUSED",  # the strategy still wants 500: re-entry refused
        FILLED,
        APPLIED,
        FINISHED,
    ]
    kill = events_of(result, "DECISION")[0]
    assert (kill["ts_utc"], kill["payload"]["action"], kill["payload"]["reason_code"]) == (
        "2024-01-05T00:00:00Z",
        "FLATTEN_AND_HALT",
        "KILL_SWITCH_MAX_DRAWDOWN",
    )
    flatten = events_of(result, "ORDER_SENT")[1]["payload"]
    assert (flatten["side"], flatten["quantity"], flatten["reduce_only"]) == ("SELL", "500", True)
    refused = events_of(result, "ORDER_REFUSED")[0]["payload"]
    assert (refused["side"], refused["reason_code"]) == ("BUY", "RISK_HALTED")
    assert fills_table(result) == [
        (_ts(4), "BUY", d(500), d(100), d(0)),
        (_ts(6), "SELL", d(500), d(90), d(0)),
    ]
    assert equity_decimals(result) == [d(100_000)] * 4 + [d(95_000)] * 8
    assert result.final_equity == d(95_000)
    assert result.halted == "KILL_SWITCH_MAX_DRAWDOWN at 2024-01-05T00:00:00+00:00"


def scenario_engine_cap_refuses_an_oversized_order_and_not_a_fitting_one() -> None:
    rows = [flat_bar(100)] * 10
    # MAIN's allocation cap is 0.6 of 100,000 = 60,000: 700 x 100 is over it, 500 x 100 is not
    config = make_config("script", plan(b2=(700, None), b5=(500, None)))
    result = run_both_modes(request(config, daily_bars(rows)), registry())

    assert result.mode == "fast"
    assert event_types(result) == [STARTED, "RISK/ORDER_REFUSED", *ENTRY, FINISHED]
    refused = events_of(result, "ORDER_REFUSED")[0]
    assert refused["ts_utc"] == "2024-01-03T00:00:00Z"
    payload = refused["payload"]
    assert (payload["reason_code"], payload["check"], payload["quantity"]) == (
        "ENGINE_CAP_EXCEEDED",
        "ALLOCATION",
        "700",
    )
    evidence = payload["upstream_evidence"]
    assert (evidence["projected_exposure"], evidence["cap_amount"]) == ("70000", "60000")
    assert fills_table(result) == [(_ts(7), "BUY", d(500), d(100), d(0))]
    assert (result.halted, result.disarmed) == (None, None)


def scenario_shadow_mode_records_intents_and_executes_nothing() -> None:
    rows = [flat_bar(100)] * 10
    config = make_config(
        "script", plan(b2=(100, 95), b5=(50, None), b7=(0, None)), engine={"shadow": True}
    )
    result = run_both_modes(request(config, daily_bars(rows)), registry())

    assert event_types(result) == [STARTED, *["STRATEGY/SHADOW_INTENT"] * 3, FINISHED]
    intents = [
        (
            e["ts_utc"],
            e["payload"]["intent"]["side"],
            e["payload"]["intent"]["quantity"],
            e["payload"]["target"],
        )
        for e in events_of(result, "SHADOW_INTENT")
    ]
    assert intents == [
        ("2024-01-03T00:00:00Z", "BUY", "100", "100"),
        ("2024-01-06T00:00:00Z", "SELL", "50", "50"),
        ("2024-01-08T00:00:00Z", "SELL", "50", "0"),
    ]
    assert (result.orders, result.fills, result.trades) == ((), (), ())
    assert result.final_equity == Decimal(100_000)
    assert equity_decimals(result) == [d(100_000)] * 10


def scenario_tightened_strategy_stop_replaces_the_resting_stop() -> None:
    """The script raises its stop from 95 to 108 at bar 5; bar 6 trades down to 102.

    A protective stop is execution's to trail and never loosen (SPEC 5/6): the resting stop
    must be replaced at 108 and fill there on bar 6.
    """
    rows = [flat_bar(100)] * 3 + [
        (100, 106, 100, 105),  # entry at 100
        (105, 111, 105, 110),
        (110, 111, 109, 110),  # bar 5: stop raised to 108
        (110, 110, 102, 103),  # touches 108 on the way down
        (103, 103, 100, 101),
        flat_bar(101),
    ]
    config = make_config("script", plan(b2=(100, 95), b5=(100, 108), b6=(0, None)))
    result = run_both_modes(request(config, daily_bars(rows)), registry())

    assert fills_table(result) == [
        (_ts(4), "BUY", d(100), d(100), d(0)),
        (_ts(7), "SELL", d(100), d(108), d(0)),
    ]
    assert result.final_equity == d(100_800)


def scenario_broker_reject_storm_halts_new_orders() -> None:
    """Three broker rejects inside the window trip KILL_SWITCH_REJECT_STORM (HALT_NEW).

    The script asks for a long with an impossible bracket (take-profit below the stop), which
    the broker rejects; the target moves off and back, so each attempt is a new order.
    """
    bad = (100, 95, 90)  # long 100, stop 95, take-profit 90: not on the profit side
    rows = [flat_bar(100)] * 12
    config = make_config(
        "script",
        plan(b1=bad, b2=(0, None), b3=bad, b4=(0, None), b5=bad, b6=(0, None), b7=bad),
        risk={"reject_storm": {"max_rejects": 3, "window_seconds": 864_000}},
    )
    result = run_both_modes(request(config, daily_bars(rows)), registry())

    rejected = events_of(result, "ORDER_REJECTED")
    assert len(rejected) == 3
    storm = [
        e for e in events_of(result, "DECISION") if e["payload"]["reason_code"].endswith("STORM")
    ]
    assert [(e["ts_utc"], e["payload"]["action"]) for e in storm] == [
        ("2024-01-06T00:00:00Z", "HALT_NEW")
    ]
    assert result.halted is not None
    assert result.halted.startswith("KILL_SWITCH_REJECT_STORM")
    assert result.fills == ()
