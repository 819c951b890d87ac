"""Messages and evidence of the per-bar breaches and of refusals while halted (builders)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final

from mqk_risk._inputs import timedelta_seconds
from mqk_risk._switches import TradingState
from mqk_schemas import Action, Decision, trusted

__all__ = [
    "Breach",
    "HaltText",
    "daily_loss",
    "drawdown",
    "halted_refusal",
    "halted_text",
    "stale_data",
]

_REJECT: Final = Action.REJECT

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


HaltText = tuple[str, str, str]
"""What a halted engine's refusals say: reason code, message and trading state (its value)."""


def halted_text(engine_id: str, state: TradingState, active: Sequence[str]) -> HaltText:
    """The reason code, message and state of every refusal while ``state`` holds with the
    ``active`` switches (the risk engine renders them once, when its state changes)."""
    disarmed = state is TradingState.DISARMED
    switches = ", ".join(active)
    return (
        "RISK_DISARMED" if disarmed else "RISK_HALTED",
        (
            f"engine {engine_id} is disarmed by {switches}; nothing passes"
            if disarmed
            else f"engine {engine_id} is halted by {switches}; only risk-reducing orders pass"
        ),
        state.value,
    )


def halted_refusal(text: HaltText, active: list[str], evidence: dict[str, Any]) -> Decision:
    """The REJECT of an order the trading state does not let through: ``text`` from
    :func:`halted_text`; ``evidence`` (the order's, built for this refusal) gets the trading
    state and the ``active`` switch codes appended."""
    reason_code, message, state = text
    evidence["trading_state"] = state
    evidence["active_switches"] = active
    # built from known-valid parts (a halted engine refuses every entry: a hot path)
    return trusted(
        Decision,
        {"action": _REJECT, "reason_code": reason_code, "message": message, "evidence": evidence},
    )
