"""Messages and evidence of the per-bar breaches and of refusals while halted (pure builders)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from mqk_risk._inputs import timedelta_seconds
from mqk_risk._switches import TradingState
from mqk_schemas import Action, Decision, trusted

__all__ = ["Breach", "daily_loss", "drawdown", "halted_refusal", "stale_data"]

Breach = tuple[str, dict[str, Any]]
"""A breach's human message and its evidence (exact decimals)."""


def daily_loss(
    equity: Decimal, day_start: Decimal, floor: Decimal, limit: Decimal, session: date | None
) -> Breach:
    """DAILY_LOSS: equity at or below ``day_start * (1 - limit)``."""
    loss = day_start - equity
    return (
        f"equity {equity} is at or below {floor}, a loss of {loss} from day-start equity "
        f"{day_start}",
        {
            "equity": equity,
            "day_start_equity": day_start,
            "loss": loss,
            "limit": limit,
            "trip_equity": floor,
            "session": session,
        },
    )


def drawdown(equity: Decimal, peak: Decimal, floor: Decimal, limit: Decimal) -> Breach:
    """MAX_DRAWDOWN: equity at or below ``peak * (1 - limit)``."""
    drop = peak - equity
    return (
        f"equity {equity} is at or below {floor}, a drawdown of {drop} from peak {peak}",
        {
            "equity": equity,
            "peak_equity": peak,
            "drawdown": drop,
            "limit": limit,
            "trip_equity": floor,
        },
    )


def stale_data(ts: datetime, data_ts: datetime, limit_seconds: int) -> Breach:
    """STALE_DATA: the newest data is older than ``limit_seconds`` at ``ts``."""
    age = ts - data_ts
    return (
        f"newest data is {age} old, more than {limit_seconds}s",
        {
            "data_ts": data_ts,
            "age_seconds": timedelta_seconds(age.days, age.seconds, age.microseconds),
            "limit_seconds": limit_seconds,
        },
    )


def halted_refusal(
    engine_id: str, state: TradingState, active: list[str], evidence: dict[str, Any]
) -> Decision:
    """The REJECT of an order the trading state does not let through."""
    disarmed = state is TradingState.DISARMED
    switches = ", ".join(active)
    # built from known-valid parts (a halted engine refuses every entry: a hot path)
    return trusted(
        Decision,
        {
            "action": Action.REJECT,
            "reason_code": "RISK_DISARMED" if disarmed else "RISK_HALTED",
            "message": (
                f"engine {engine_id} is disarmed by {switches}; nothing passes"
                if disarmed
                else f"engine {engine_id} is halted by {switches}; only risk-reducing orders pass"
            ),
            "evidence": {**evidence, "trading_state": state.value, "active_switches": active},
        },
    )
