"""Reason codes and the decisions of each rule, shared by the streaming gate and the frame scan.

Both paths build their decisions with these functions from the same inputs, so a bar gets the
same :class:`~mqk_schemas.Decision` (action, reason code, message and evidence) either way.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from typing import Any

from mqk_integrity._settings import OutlierPolicy
from mqk_schemas import Action, Decision, format_decimal, format_utc

__all__ = [
    "MAX_PRICE",
    "ReasonCode",
    "cleared",
    "combine",
    "disagreement_bps",
    "duplicate",
    "feed_disagreement",
    "gap",
    "incomplete",
    "is_outlier",
    "lookahead",
    "off_calendar",
    "out_of_order",
    "outlier",
    "stale_feed",
    "structure",
    "structure_violation",
    "wrong_timeframe",
]

MAX_PRICE = Decimal(10) ** 18
"""Prices must be below this bound (keeps exact integer arithmetic inside 128 bits)."""

_PRICE_FIELDS = ("open", "high", "low", "close")
_EXACT_PRECISION = 100
_MICROSECOND = timedelta(microseconds=1)


class ReasonCode:
    """Machine-readable reason codes of integrity decisions."""

    OK = "OK"
    BAR_INCOMPLETE = "BAR_INCOMPLETE"
    LOOKAHEAD_VIOLATION = "LOOKAHEAD_VIOLATION"
    WRONG_TIMEFRAME = "WRONG_TIMEFRAME"
    BAR_STRUCTURE = "BAR_STRUCTURE"
    DUPLICATE_BAR = "DUPLICATE_BAR"
    OUT_OF_ORDER = "OUT_OF_ORDER"
    BAR_OFF_CALENDAR = "BAR_OFF_CALENDAR"
    GAP_DETECTED = "GAP_DETECTED"
    OUTLIER_MOVE = "OUTLIER_MOVE"
    STALE_FEED = "STALE_FEED"
    FEED_DISAGREEMENT = "FEED_DISAGREEMENT"
    INTEGRITY_CLEARED = "INTEGRITY_CLEARED"


def _d(value: Decimal) -> str:
    return format_decimal(value)


def _bar_evidence(symbol: str, ts: datetime) -> dict[str, Any]:
    return {"symbol": symbol, "ts_close_utc": format_utc(ts)}


def incomplete(symbol: str, ts: datetime) -> Decision:
    """REJECT: the bar has not closed; it must never reach a strategy."""
    return Decision(
        action=Action.REJECT,
        reason_code=ReasonCode.BAR_INCOMPLETE,
        message=f"{symbol} bar closing {format_utc(ts)} is not complete",
        evidence=_bar_evidence(symbol, ts),
    )


def lookahead(symbol: str, ts: datetime, now: datetime) -> Decision:
    """DISARM: a complete bar closes after the clock (data from the future)."""
    return Decision(
        action=Action.DISARM,
        reason_code=ReasonCode.LOOKAHEAD_VIOLATION,
        message=(
            f"{symbol} bar closing {format_utc(ts)} reached the gate at {format_utc(now)},"
            " before its close: look-ahead"
        ),
        evidence={**_bar_evidence(symbol, ts), "clock_utc": format_utc(now)},
    )


def wrong_timeframe(symbol: str, ts: datetime, got: str, expected: str) -> Decision:
    """REJECT: a bar of another timeframe than the gate's."""
    return Decision(
        action=Action.REJECT,
        reason_code=ReasonCode.WRONG_TIMEFRAME,
        message=f"{symbol} bar is {got}, this gate checks {expected} bars",
        evidence={**_bar_evidence(symbol, ts), "timeframe": got, "expected": expected},
    )


def structure_violation(
    open_: Decimal, high: Decimal, low: Decimal, close: Decimal, volume: Decimal
) -> str | None:
    """The first OHLCV structure rule the values break, or None when they are well formed."""
    prices = (open_, high, low, close)
    if any(p <= 0 for p in prices):
        return "prices must be > 0"
    if any(p >= MAX_PRICE for p in prices):
        return "prices must be < 1e18"
    if volume < 0:
        return "volume must be >= 0"
    if low > min(open_, close):
        return "low > min(open, close)"
    if max(open_, close) > high:
        return "max(open, close) > high"
    return None


def structure(
    symbol: str,
    ts: datetime,
    values: tuple[Decimal, Decimal, Decimal, Decimal, Decimal],
    violation: str,
) -> Decision:
    """REJECT: the bar breaks low <= min(open, close) <= max(open, close) <= high (or bounds)."""
    names = (*_PRICE_FIELDS, "volume")
    return Decision(
        action=Action.REJECT,
        reason_code=ReasonCode.BAR_STRUCTURE,
        message=f"{symbol} bar closing {format_utc(ts)}: {violation}",
        evidence={
            **_bar_evidence(symbol, ts),
            "rule": violation,
            **{n: _d(v) for n, v in zip(names, values, strict=True)},
        },
    )


def duplicate(symbol: str, ts: datetime) -> Decision:
    """REJECT: a second bar with the close time of the last accepted one."""
    return Decision(
        action=Action.REJECT,
        reason_code=ReasonCode.DUPLICATE_BAR,
        message=f"{symbol} bar closing {format_utc(ts)} was already received",
        evidence=_bar_evidence(symbol, ts),
    )


def out_of_order(symbol: str, ts: datetime, last: datetime) -> Decision:
    """REJECT: a bar closing before the last accepted bar of its symbol."""
    return Decision(
        action=Action.REJECT,
        reason_code=ReasonCode.OUT_OF_ORDER,
        message=(
            f"{symbol} bar closing {format_utc(ts)} arrived after the bar closing"
            f" {format_utc(last)}"
        ),
        evidence={**_bar_evidence(symbol, ts), "last_ts_close_utc": format_utc(last)},
    )


def off_calendar(
    symbol: str, ts: datetime, calendar: str, timeframe: str, next_expected: datetime | None
) -> Decision:
    """REJECT: the close time is not an expected bar close of the calendar."""
    evidence = {**_bar_evidence(symbol, ts), "calendar": calendar, "timeframe": timeframe}
    evidence["next_expected_close_utc"] = (
        None if next_expected is None else format_utc(next_expected)
    )
    return Decision(
        action=Action.REJECT,
        reason_code=ReasonCode.BAR_OFF_CALENDAR,
        message=(
            f"{symbol} bar closing {format_utc(ts)} is not a {timeframe} bar close of calendar"
            f" {calendar}"
        ),
        evidence=evidence,
    )


def gap(
    symbol: str,
    previous: datetime,
    ts: datetime,
    missing: int,
    tolerance: int,
    first_missing: datetime,
    last_missing: datetime,
) -> Decision:
    """HALT_NEW: more session bars are missing between two bars than the tolerance allows."""
    return Decision(
        action=Action.HALT_NEW,
        reason_code=ReasonCode.GAP_DETECTED,
        message=(
            f"{symbol}: {missing} session bar(s) missing between {format_utc(previous)} and"
            f" {format_utc(ts)} (tolerance {tolerance})"
        ),
        evidence={
            **_bar_evidence(symbol, ts),
            "previous_ts_close_utc": format_utc(previous),
            "missing_bars": missing,
            "tolerance_bars": tolerance,
            "first_missing_close_utc": format_utc(first_missing),
            "last_missing_close_utc": format_utc(last_missing),
        },
    )


def is_outlier(previous_close: Decimal, close: Decimal, fraction: Decimal) -> bool:
    """True when ``|close - previous_close| > fraction * previous_close`` (exactly)."""
    with localcontext() as ctx:
        ctx.prec = _EXACT_PRECISION
        return abs(close - previous_close) > fraction * previous_close


_POLICY_ACTION = {
    OutlierPolicy.FLAG: Action.ALLOW,
    OutlierPolicy.REJECT: Action.REJECT,
    OutlierPolicy.HALT_NEW: Action.HALT_NEW,
}


def outlier(
    symbol: str,
    ts: datetime,
    previous_close: Decimal,
    close: Decimal,
    fraction: Decimal,
    policy: OutlierPolicy,
) -> Decision:
    """The outlier policy's decision (FLAG -> ALLOW carrying the flag) for a large move."""
    with localcontext() as ctx:
        ctx.prec = _EXACT_PRECISION
        move = ((close - previous_close) / previous_close).quantize(
            Decimal("1e-8"), rounding=ROUND_HALF_EVEN
        )
    return Decision(
        action=_POLICY_ACTION[policy],
        reason_code=ReasonCode.OUTLIER_MOVE,
        message=(
            f"{symbol} close moved {_d(move)} ({_d(previous_close)} -> {_d(close)}) at"
            f" {format_utc(ts)}, beyond {_d(fraction)}; policy {policy}"
        ),
        evidence={
            **_bar_evidence(symbol, ts),
            "previous_close": _d(previous_close),
            "close": _d(close),
            "move_fraction": _d(move),
            "threshold": _d(fraction),
            "policy": str(policy),
        },
    )


def combine(decisions: list[Decision]) -> Decision:
    """The most severe decision (first among equals); the others ride along under ``also``."""
    if not decisions:
        return Decision.allow()
    best = decisions[0]
    for decision in decisions[1:]:
        if decision.action.severity > best.action.severity:
            best = decision
    others = [d for d in decisions if d is not best]
    if not others:
        return best
    also = [
        {"action": str(d.action), "reason_code": d.reason_code, "evidence": d.evidence}
        for d in others
    ]
    return best.model_copy(update={"evidence": {**best.evidence, "also": also}})


def stale_feed(feed: str, last_seen: datetime, now: datetime, threshold_seconds: int) -> Decision:
    """DISARM: a feed delivered nothing for longer than the threshold."""
    age = now - last_seen
    return Decision(
        action=Action.DISARM,
        reason_code=ReasonCode.STALE_FEED,
        message=(
            f"feed {feed!r} silent since {format_utc(last_seen)} ({age.total_seconds():g} s >"
            f" {threshold_seconds} s)"
        ),
        evidence={
            "feed": feed,
            "last_seen_utc": format_utc(last_seen),
            "clock_utc": format_utc(now),
            "age_microseconds": age // _MICROSECOND,
            "threshold_seconds": threshold_seconds,
        },
    )


def disagreement_bps(reference: Decimal, other: Decimal) -> Decimal:
    """``|other - reference| / reference`` in basis points, exact to 1e-4 bps (half even)."""
    with localcontext() as ctx:
        ctx.prec = _EXACT_PRECISION
        return (abs(other - reference) * 10_000 / reference).quantize(
            Decimal("1e-4"), rounding=ROUND_HALF_EVEN
        )


def feed_disagreement(
    symbol: str,
    ts: datetime,
    field: str,
    bps: Decimal,
    tolerance_bps: Decimal,
    values: dict[str, dict[str, str]],
) -> Decision:
    """HALT_NEW: two feeds disagree on the same bar beyond the tolerance; both values shown."""
    feeds = " vs ".join(f"{feed} {vals[field]}" for feed, vals in values.items())
    return Decision(
        action=Action.HALT_NEW,
        reason_code=ReasonCode.FEED_DISAGREEMENT,
        message=(
            f"{symbol} bar closing {format_utc(ts)}: feeds disagree on {field} ({feeds}),"
            f" {_d(bps)} bps > {_d(tolerance_bps)} bps"
        ),
        evidence={
            **_bar_evidence(symbol, ts),
            "field": field,
            "bps": _d(bps),
            "tolerance_bps": _d(tolerance_bps),
            "values": values,
        },
    )


def cleared(operator: str, reason: str, now: datetime, previous: list[Decision]) -> Decision:
    """ALLOW record of an operator clearing sticky halts/disarms (what was cleared, by whom)."""
    return Decision(
        action=Action.ALLOW,
        reason_code=ReasonCode.INTEGRITY_CLEARED,
        message=f"cleared by {operator}: {reason}",
        evidence={
            "operator": operator,
            "reason": reason,
            "clock_utc": format_utc(now),
            "cleared": [
                {"action": str(d.action), "reason_code": d.reason_code, "evidence": d.evidence}
                for d in previous
            ],
        },
    )
