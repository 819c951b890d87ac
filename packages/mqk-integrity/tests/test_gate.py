"""The streaming gate: one typed decision per bar, sticky halts and disarms until cleared."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError

from mqk_integrity import (
    GateState,
    GateUsageError,
    IntegrityGate,
    IntegritySettings,
    LookaheadError,
    OutlierPolicy,
    UnknownCalendarError,
)
from mqk_schemas import Action, Timeframe

T0 = datetime(2022, 1, 3, tzinfo=UTC)
D1, H1 = Timeframe.D1, Timeframe.H1


def day(m: int, d: int, hour: int = 21, minute: int = 0) -> datetime:
    """A 2022 UTC time; 21:00 is the winter New York close."""
    return datetime(2022, m, d, hour, minute, tzinfo=UTC)


OK = (Action.ALLOW, "OK")
GAP = (Action.HALT_NEW, "GAP_DETECTED")

SCENARIOS = [
    # id, settings overrides, timeframe, bars as (close time, close), expected (action, reason)
    ("weekend_is_not_a_gap", {}, D1, [(day(1, 7), "100"), (day(1, 10), "101")], [OK, OK]),
    ("holiday_is_not_a_gap", {}, D1, [(day(1, 14), "100"), (day(1, 18), "101")], [OK, OK]),
    ("missing_wednesday_halts", {}, D1, [(day(1, 18), "100"), (day(1, 20), "101")], [OK, GAP]),
    (
        "missing_hour_in_session_halts",
        {},
        H1,
        [(day(1, 4, 15, 30), "100"), (day(1, 4, 16, 30), "100"), (day(1, 4, 18, 30), "100")],
        [OK, OK, GAP],
    ),
    (
        "night_between_sessions_is_not_a_gap",
        {},
        H1,
        [(day(1, 4, 20, 30), "100"), (day(1, 4, 21), "100"), (day(1, 5, 15, 30), "100")],
        [OK, OK, OK],
    ),
    (
        "tolerance_one_allows_one_missing_bar",
        {"gap_tolerance_bars": 1},
        D1,
        [(day(1, 18), "100"), (day(1, 20), "100"), (day(1, 25), "100")],
        [OK, OK, GAP],
    ),
    (
        "duplicate_is_rejected",
        {},
        D1,
        [(day(1, 3), "100"), (day(1, 3), "100")],
        [OK, (Action.REJECT, "DUPLICATE_BAR")],
    ),
    (
        "out_of_order_is_rejected_and_does_not_move_the_reference",
        {},
        D1,
        [(day(1, 3), "100"), (day(1, 5), "100"), (day(1, 4), "100"), (day(1, 6), "100")],
        [OK, GAP, (Action.REJECT, "OUT_OF_ORDER"), OK],
    ),
    (
        "saturday_bar_is_off_calendar",
        {},
        D1,
        [(day(1, 7), "100"), (day(1, 8), "100"), (day(1, 10), "100")],
        [OK, (Action.REJECT, "BAR_OFF_CALENDAR"), OK],
    ),
    (
        "bar_stamped_before_the_close_is_off_calendar",
        {},
        D1,
        [(day(1, 3, 20), "100")],
        [(Action.REJECT, "BAR_OFF_CALENDAR")],
    ),
    (
        "move_of_exactly_the_threshold_is_not_an_outlier",
        {"outlier_policy": OutlierPolicy.REJECT},
        D1,
        [(day(1, 3), "100"), (day(1, 4), "120"), (day(1, 5), "96")],
        [OK, OK, OK],
    ),
    (
        "outlier_flag_allows_with_reason",
        {"outlier_policy": OutlierPolicy.FLAG},
        D1,
        [(day(1, 3), "100"), (day(1, 4), "120.01")],
        [OK, (Action.ALLOW, "OUTLIER_MOVE")],
    ),
    (
        "outlier_reject_rejects",
        {"outlier_policy": OutlierPolicy.REJECT},
        D1,
        [(day(1, 3), "100"), (day(1, 4), "79.99")],
        [OK, (Action.REJECT, "OUTLIER_MOVE")],
    ),
    (
        "outlier_halt_halts",
        {"outlier_policy": OutlierPolicy.HALT_NEW},
        D1,
        [(day(1, 3), "100"), (day(1, 4), "150")],
        [OK, (Action.HALT_NEW, "OUTLIER_MOVE")],
    ),
    (
        "gap_outranks_a_rejecting_outlier",
        {"outlier_policy": OutlierPolicy.REJECT},
        D1,
        [(day(1, 3), "100"), (day(1, 5), "150")],
        [OK, GAP],
    ),
    (
        "24_7_daily_has_no_weekends",
        {"calendar": "24/7"},
        D1,
        [(day(1, 7, 0), "100"), (day(1, 8, 0), "100"), (day(1, 10, 0), "100")],
        [OK, OK, GAP],
    ),
]


@pytest.mark.parametrize(
    ("overrides", "timeframe", "bars", "expected"),
    [pytest.param(*s[1:], id=s[0]) for s in SCENARIOS],
)
def scenario_bar_rules(make_settings, make_bar, overrides, timeframe, bars, expected) -> None:
    gate = IntegrityGate(make_settings(**overrides), timeframe, started_at=T0)
    got = [gate.on_bar(make_bar(ts, close, timeframe=timeframe), now=ts) for ts, close in bars]
    assert [(d.action, d.reason_code) for d in got] == expected


def scenario_gap_evidence_names_the_missing_session_bars(make_settings, make_bar) -> None:
    gate = IntegrityGate(make_settings(), D1, started_at=T0)
    gate.on_bar(make_bar(day(1, 11)), now=day(1, 11))
    decision = gate.on_bar(make_bar(day(1, 14)), now=day(1, 14))
    assert decision.evidence == {
        "symbol": "AAPL",
        "ts_close_utc": "2022-01-14T21:00:00Z",
        "previous_ts_close_utc": "2022-01-11T21:00:00Z",
        "missing_bars": 2,
        "tolerance_bars": 0,
        "first_missing_close_utc": "2022-01-12T21:00:00Z",
        "last_missing_close_utc": "2022-01-13T21:00:00Z",
    }


def scenario_each_symbol_has_its_own_sequence(make_settings, make_bar) -> None:
    gate = IntegrityGate(make_settings(), D1, started_at=T0)
    decisions = [
        gate.on_bar(make_bar(day(1, 3), symbol="AAPL"), now=day(1, 5)),
        gate.on_bar(make_bar(day(1, 3), symbol="MSFT"), now=day(1, 5)),
        gate.on_bar(make_bar(day(1, 4), symbol="AAPL"), now=day(1, 5)),
        gate.on_bar(make_bar(day(1, 4), symbol="MSFT"), now=day(1, 5)),
    ]
    assert all(d.reason_code == "OK" for d in decisions)


@pytest.mark.parametrize(
    ("bar_kwargs", "reason"),
    [
        ({"low": "100.5", "close": "100", "open_": "101", "high": "102"}, "BAR_STRUCTURE"),
        ({"high": "100.5", "close": "101", "open_": "100", "low": "99"}, "BAR_STRUCTURE"),
        ({"is_complete": False}, "BAR_INCOMPLETE"),
        ({"timeframe": Timeframe.H1}, "WRONG_TIMEFRAME"),
    ],
)
def unit_malformed_incomplete_or_foreign_bars_are_rejected(
    make_settings, make_bar, bar_kwargs, reason
) -> None:
    gate = IntegrityGate(make_settings(), D1, started_at=T0)
    decision = gate.on_bar(make_bar(day(1, 3), **bar_kwargs), now=day(1, 3))
    assert (decision.action, decision.reason_code) == (Action.REJECT, reason)
    assert gate.state is GateState.ACTIVE


def unit_structure_evidence_quotes_the_values(make_settings, make_bar) -> None:
    gate = IntegrityGate(make_settings(), D1, started_at=T0)
    bar = make_bar(day(1, 3), "100", open_="101", high="102", low="100.5")
    assert gate.on_bar(bar, now=day(1, 3)).evidence == {
        "symbol": "AAPL",
        "ts_close_utc": "2022-01-03T21:00:00Z",
        "rule": "low > min(open, close)",
        "open": "101",
        "high": "102",
        "low": "100.5",
        "close": "100",
        "volume": "1000",
    }


def unit_incomplete_bar_from_the_future_is_only_rejected(make_settings, make_bar) -> None:
    gate = IntegrityGate(make_settings(), D1, started_at=T0)
    decision = gate.on_bar(make_bar(day(1, 3), is_complete=False), now=day(1, 3, 15))
    assert decision.reason_code == "BAR_INCOMPLETE"
    assert gate.state is GateState.ACTIVE


def fault_bar_from_the_future_is_a_lookahead_failure_that_disarms(make_settings, make_bar) -> None:
    gate = IntegrityGate(make_settings(), D1, started_at=T0)
    now = day(1, 3, 20, 59)
    with pytest.raises(LookaheadError) as info:
        gate.on_bar(make_bar(day(1, 3)), now=now)
    assert info.value.reason_code == "LOOKAHEAD_VIOLATION"
    assert info.value.decision.action is Action.DISARM
    assert info.value.decision.evidence == {
        "symbol": "AAPL",
        "ts_close_utc": "2022-01-03T21:00:00Z",
        "clock_utc": "2022-01-03T20:59:00Z",
    }
    assert gate.state is GateState.DISARMED
    assert gate.status() == info.value.decision


def fault_stale_feed_disarms_and_stays_disarmed_until_cleared(make_settings) -> None:
    gate = IntegrityGate(make_settings(stale_feed_seconds=300), D1, started_at=T0)
    assert gate.on_tick("primary", T0 + timedelta(seconds=100)).reason_code == "OK"
    assert gate.check_stale(T0 + timedelta(seconds=400)).reason_code == "OK"  # exactly 300 s
    stale = gate.check_stale(T0 + timedelta(seconds=401))
    assert (stale.action, stale.reason_code) == (Action.DISARM, "STALE_FEED")
    assert stale.evidence == {
        "feed": "primary",
        "last_seen_utc": "2022-01-03T00:01:40Z",
        "clock_utc": "2022-01-03T00:06:41Z",
        "age_microseconds": 301_000_000,
        "threshold_seconds": 300,
    }
    fresh = gate.on_tick("primary", T0 + timedelta(seconds=402))
    assert fresh.reason_code == "OK"
    assert gate.state is GateState.DISARMED  # sticky: fresh data does not re-arm
    assert gate.status() == stale
    record = gate.clear(reason="feed restored", operator="alice", now=T0 + timedelta(seconds=500))
    assert (record.action, record.reason_code) == (Action.ALLOW, "INTEGRITY_CLEARED")
    assert record.evidence["operator"] == "alice"
    assert [c["reason_code"] for c in record.evidence["cleared"]] == ["STALE_FEED"]
    assert gate.state is GateState.ACTIVE


def fault_silent_secondary_feed_is_named(make_settings) -> None:
    gate = IntegrityGate(
        make_settings(stale_feed_seconds=60), D1, started_at=T0, feeds=("primary", "backup")
    )
    gate.on_tick("primary", T0 + timedelta(seconds=59))
    decision = gate.on_tick("primary", T0 + timedelta(seconds=61))
    assert decision.evidence["feed"] == "backup"


def fault_halt_after_a_gap_is_sticky_until_cleared(make_settings, make_bar) -> None:
    gate = IntegrityGate(make_settings(), D1, started_at=T0)
    gate.on_bar(make_bar(day(1, 3)), now=day(1, 3))
    gap = gate.on_bar(make_bar(day(1, 5)), now=day(1, 5))
    assert gate.on_bar(make_bar(day(1, 6)), now=day(1, 6)).reason_code == "OK"
    assert gate.state is GateState.HALTED
    assert gate.status() == gap
    gate.clear(reason="vendor backfilled", operator="bob", now=day(1, 6))
    assert (gate.state, gate.status().reason_code) == (GateState.ACTIVE, "OK")


def fault_disarm_outranks_halt_in_status(make_settings, make_bar) -> None:
    gate = IntegrityGate(make_settings(stale_feed_seconds=60), D1, started_at=T0)
    gate.on_bar(make_bar(day(1, 3)), now=day(1, 3))
    gate.on_bar(make_bar(day(1, 5)), now=day(1, 5))
    gate.check_stale(day(1, 5) + timedelta(minutes=2))
    assert (gate.state, gate.status().reason_code) == (GateState.DISARMED, "STALE_FEED")
    record = gate.clear(reason="checked", operator="ops", now=day(1, 6))
    assert [c["reason_code"] for c in record.evidence["cleared"]] == [
        "GAP_DETECTED",
        "STALE_FEED",
    ]


@pytest.mark.parametrize(
    ("backup_close", "expected"),
    [
        ("100.6", (Action.HALT_NEW, "FEED_DISAGREEMENT")),
        ("99.4", (Action.HALT_NEW, "FEED_DISAGREEMENT")),
        ("100.5", (Action.ALLOW, "OK")),  # exactly 50 bps is within tolerance
        ("100", (Action.ALLOW, "OK")),
    ],
)
def fault_feed_disagreement_beyond_tolerance_halts(
    make_settings, make_bar, backup_close, expected
) -> None:
    gate = IntegrityGate(
        make_settings(feed_disagreement_bps=Decimal(50)),
        D1,
        started_at=T0,
        feeds=("primary", "backup"),
    )
    ts = day(1, 3)
    assert gate.on_bar(make_bar(ts, "100", open_="100", high="101", low="99"), now=ts).allowed
    backup = make_bar(ts, backup_close, open_="100", high="101", low="99")
    decision = gate.on_bar(backup, now=ts, feed="backup")
    assert (decision.action, decision.reason_code) == expected


def fault_feed_disagreement_evidence_holds_both_values(make_settings, make_bar) -> None:
    gate = IntegrityGate(
        make_settings(feed_disagreement_bps=Decimal(50)),
        D1,
        started_at=T0,
        feeds=("primary", "backup"),
    )
    ts = day(1, 3)
    # the backup arrives first; the primary's own decision carries the disagreement
    assert gate.on_bar(make_bar(ts, "101", open_="100", high="102", low="99"), ts, "backup").allowed
    decision = gate.on_bar(make_bar(ts, "100", open_="100", high="102", low="99"), now=ts)
    assert (decision.action, decision.reason_code) == (Action.HALT_NEW, "FEED_DISAGREEMENT")
    assert decision.evidence == {
        "symbol": "AAPL",
        "ts_close_utc": "2022-01-03T21:00:00Z",
        "field": "close",
        "bps": "99.0099",
        "tolerance_bps": "50",
        "values": {
            "backup": {"open": "100", "high": "102", "low": "99", "close": "101"},
            "primary": {"open": "100", "high": "102", "low": "99", "close": "100"},
        },
    }
    assert gate.state is GateState.HALTED


def unit_clear_needs_a_reason_an_operator_and_something_to_clear(make_settings) -> None:
    gate = IntegrityGate(make_settings(stale_feed_seconds=1), D1, started_at=T0)
    with pytest.raises(GateUsageError, match="nothing to clear"):
        gate.clear(reason="x", operator="y", now=T0)
    gate.check_stale(T0 + timedelta(seconds=2))
    with pytest.raises(GateUsageError, match="reason and operator"):
        gate.clear(reason="  ", operator="y", now=T0)
    assert gate.state is GateState.DISARMED


def fault_unknown_feed_and_duplicate_feed_names_are_misuse(make_settings, make_bar) -> None:
    gate = IntegrityGate(make_settings(), D1, started_at=T0)
    with pytest.raises(GateUsageError, match="unknown feed"):
        gate.on_bar(make_bar(day(1, 3)), now=day(1, 3), feed="other")
    with pytest.raises(GateUsageError, match="distinct"):
        IntegrityGate(make_settings(), D1, started_at=T0, feeds=("a", "a"))


def fault_unknown_calendar_refuses_to_build_a_gate(make_settings) -> None:
    with pytest.raises(UnknownCalendarError):
        IntegrityGate(make_settings(calendar="MOON"), D1, started_at=T0)


def unit_settings_mirror_the_config_section_exactly(make_settings) -> None:
    settings = IntegritySettings.model_validate(
        {
            "calendar": "24/7",
            "gap_tolerance_bars": 2,
            "stale_feed_seconds": 432000,
            "feed_disagreement_bps": "50",
            "outlier_move_fraction": "0.2",
            "outlier_policy": "HALT_NEW",
        }
    )
    assert settings.outlier_policy is OutlierPolicy.HALT_NEW
    assert settings.outlier_move_fraction == Decimal("0.2")
    assert set(IntegritySettings.model_fields) == {
        "calendar",
        "gap_tolerance_bars",
        "stale_feed_seconds",
        "feed_disagreement_bps",
        "outlier_move_fraction",
        "outlier_policy",
    }


@pytest.mark.parametrize(
    "overrides",
    [
        {"outlier_move_fraction": Decimal("0.123456789")},
        {"outlier_move_fraction": 0.2},
        {"outlier_move_fraction": Decimal(0)},
        {"gap_tolerance_bars": -1},
        {"stale_feed_seconds": 0},
        {"feed_disagreement_bps": Decimal(-1)},
        {"outlier_policy": "IGNORE"},
        {"unexpected": 1},
    ],
)
def fault_invalid_settings_are_refused(make_settings, overrides) -> None:
    with pytest.raises(ValidationError):
        make_settings(**overrides)


def fault_settings_without_every_field_are_refused() -> None:
    with pytest.raises(ValidationError, match="outlier_policy"):
        IntegritySettings.model_validate({"calendar": "XNYS"})
