"""Rebuilding a resumed run's in-memory state from what was committed."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal

from mqk_execution import Bracket
from mqk_integrity import IntegrityGate, LookaheadError
from mqk_portfolio import EngineLedger
from mqk_runtime._components import EngineComponents
from mqk_schemas import Action, Bar, Fill

__all__ = ["bracket_of", "rebuild_ledger", "warm_gate"]


def warm_gate(gate: IntegrityGate, bars: Iterable[Bar]) -> list[Bar]:
    """Replay completed bars through the gate; returns the ones it let through."""
    accepted = []
    for bar in bars:
        try:
            verdict = gate.on_bar(bar, bar.ts_close_utc)
        except LookaheadError:
            continue
        if verdict.action is not Action.REJECT:
            accepted.append(bar)
    return accepted


def rebuild_ledger(
    components: EngineComponents, bars: Sequence[Bar], fills: Sequence[Fill]
) -> tuple[EngineLedger, list[tuple[Fill, Decimal]]]:
    """Replay the applied fills with the marks of the completed bars, in the original order.

    Fills of a bar are applied before that bar's mark (as the loop does). Fills of the bar
    whose cycle was interrupted come last (the "tail", with the position before each).
    """
    ledger = EngineLedger(components.engine_id, components.starting_cash)
    by_bar: dict[tuple[object, str], list[Fill]] = {}
    for fill in fills:
        by_bar.setdefault((fill.ts_utc, fill.symbol), []).append(fill)
    used: set[str] = set()
    for bar in bars:
        for fill in by_bar.get((bar.ts_close_utc, bar.symbol), ()):
            ledger.apply(fill)
            used.add(fill.broker_fill_id)
        ledger.mark(bar.symbol, bar.close)
    tail: list[tuple[Fill, Decimal]] = []
    for fill in fills:
        if fill.broker_fill_id not in used:
            tail.append((fill, ledger.position(fill.symbol)))
            ledger.apply(fill)
    return ledger, tail


def bracket_of(data: object) -> Bracket | None:
    if not isinstance(data, dict):
        return None
    return Bracket(
        stop_price=Decimal(str(data["stop_price"])),
        target_price=None if data["target_price"] is None else Decimal(str(data["target_price"])),
        trail_amount=None if data["trail_amount"] is None else Decimal(str(data["trail_amount"])),
    )
