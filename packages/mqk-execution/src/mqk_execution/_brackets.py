"""Bracket rules of the SimBroker as pure functions: validation, ambiguity, trailing."""

from __future__ import annotations

from decimal import Decimal

from mqk_execution._broker import Bracket
from mqk_execution._fillmodel import round_to_tick
from mqk_execution._settings import AmbiguityPolicy
from mqk_schemas import OrderIntent, Side

__all__ = ["bracket_problem", "stop_comes_first", "trailed_stop"]


def bracket_problem(intent: OrderIntent, bracket: Bracket) -> str | None:
    """Why ``bracket`` cannot protect ``intent`` (None when it can)."""
    entry_price = intent.limit_price or intent.stop_price
    sign = intent.side.sign
    if bracket.stop_price <= 0:
        return "stop_price must be > 0"
    if bracket.trail_amount is not None and bracket.trail_amount <= 0:
        return "trail_amount must be > 0"
    target = bracket.target_price
    if target is not None and target <= 0:
        return "target_price must be > 0"
    if target is not None and (target - bracket.stop_price) * sign <= 0:
        return "the target must be on the profit side of the stop"
    if entry_price is not None and (entry_price - bracket.stop_price) * sign <= 0:
        return "the stop must be on the loss side of the entry price"
    if entry_price is not None and target is not None and (target - entry_price) * sign <= 0:
        return "the target must be on the profit side of the entry price"
    return None


def stop_comes_first(
    policy: AmbiguityPolicy, exit_side: Side, stop: Decimal, target: Decimal, bar_open: Decimal
) -> tuple[bool, bool]:
    """Which leg fills when one bar touches both: ``(stop_first, ambiguous)``.

    ``exit_side`` is the legs' side (SELL for a long position). If the open already reached a
    leg, that leg came first and the bar is not ambiguous; otherwise the policy decides:
    CONSERVATIVE_WORST_CASE the stop, OPTIMISTIC the target, OPEN_PROXIMITY the level nearer
    the open (the stop on a tie).
    """
    sign = exit_side.sign
    if (bar_open - stop) * sign >= 0:
        return True, False
    if (target - bar_open) * sign >= 0:
        return False, False
    if policy is AmbiguityPolicy.OPTIMISTIC:
        return False, True
    if policy is AmbiguityPolicy.OPEN_PROXIMITY:
        return abs(bar_open - stop) <= abs(target - bar_open), True
    return True, True


def trailed_stop(
    exit_side: Side, current: Decimal, close: Decimal, trail: Decimal, tick: Decimal
) -> Decimal | None:
    """The tighter stop ``trail`` away from ``close``, or None if it would not tighten.

    A SELL stop (long position) only moves up, a BUY stop only down; the new level is rounded
    to the tick away from the close, so rounding never tightens beyond ``close -/+ trail``.
    """
    if exit_side is Side.SELL:
        candidate = round_to_tick(close - trail, tick, Side.SELL)
        return candidate if candidate > current else None
    candidate = round_to_tick(close + trail, tick, Side.BUY)
    return candidate if candidate < current else None
