"""Targets -> order intents: deterministic signed deltas from the current positions."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from mqk_execution._protocols import PositionView
from mqk_execution.errors import IntentError
from mqk_schemas import (
    OrderIntent,
    OrderType,
    Side,
    TargetPosition,
    TimeInForce,
    client_order_id,
    format_decimal,
)

__all__ = ["IntentPlan", "targets_to_intents"]

_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class IntentPlan:
    """The intents for one set of targets, and the sequence number the next intent must use."""

    intents: tuple[OrderIntent, ...]
    next_seq: int


def _target_quantity(
    target: TargetPosition, prices: Mapping[str, Decimal], step: Decimal
) -> Decimal:
    if target.quantity is not None:
        return target.quantity
    notional = target.notional if target.notional is not None else _ZERO
    price = prices.get(target.symbol)
    if price is None or price <= 0:
        raise IntentError(
            f"target {target.symbol}: a notional target needs a positive price for "
            f"{target.symbol} (prices given for {sorted(prices)})"
        )
    # Truncate towards zero to whole steps: a notional target is never exceeded.
    return (notional / price / step).to_integral_value(rounding=ROUND_DOWN) * step


def targets_to_intents(
    targets: Iterable[TargetPosition],
    positions: PositionView,
    *,
    engine_id: str,
    run_id: uuid.UUID,
    next_seq: int,
    prices: Mapping[str, Decimal] | None = None,
    pending: Mapping[str, Decimal] | None = None,
    quantity_step: Decimal = Decimal(1),
    time_in_force: TimeInForce = TimeInForce.GTC,
) -> IntentPlan:
    """Turn targets into MARKET intents, one per symbol that must change, sorted by symbol.

    The delta is ``target - (position + pending)``; ``pending`` is the signed unfilled quantity of
    orders already working (e.g. ``ExecutionGateway.pending_quantity``), so repeating the same
    targets while orders rest produces nothing new. A notional target becomes a quantity at
    ``prices[symbol]``, truncated towards zero to whole ``quantity_step``s. A delta that crosses
    zero (long -> short) is split in two intents: a ``reduce_only`` close, then the opening rest.
    Symbols without a target are left alone (a target of 0 flattens). Each intent takes the next
    sequence number; its ``client_order_id`` is ``client_order_id(engine_id, run_id, seq)``.
    Nothing is produced when any target is invalid.
    """
    if quantity_step <= 0:
        raise IntentError(f"quantity_step {format_decimal(quantity_step)} must be > 0")
    prices = prices or {}
    pending = pending or {}
    by_symbol: dict[str, TargetPosition] = {}
    for target in targets:
        if target.symbol in by_symbol:
            raise IntentError(f"two targets for symbol {target.symbol}; give one per symbol")
        by_symbol[target.symbol] = target

    legs: list[tuple[str, Side, Decimal, bool]] = []
    for symbol in sorted(by_symbol):
        wanted = _target_quantity(by_symbol[symbol], prices, quantity_step)
        current = positions.position(symbol) + pending.get(symbol, _ZERO)
        delta = wanted - current
        if delta == 0:
            continue
        side = Side.BUY if delta > 0 else Side.SELL
        crosses_zero = current != 0 and wanted != 0 and (current > 0) != (wanted > 0)
        if crosses_zero:
            legs.append((symbol, side, abs(current), True))
            legs.append((symbol, side, abs(wanted), False))
        else:
            reducing = current != 0 and abs(wanted) < abs(current) and (wanted * current) >= 0
            legs.append((symbol, side, abs(delta), reducing))

    intents: list[OrderIntent] = []
    seq = next_seq
    for symbol, side, quantity, reduce_only in legs:
        intents.append(
            OrderIntent(
                engine_id=engine_id,
                intent_seq=seq,
                client_order_id=client_order_id(engine_id, run_id, seq),
                symbol=symbol,
                side=side,
                quantity=quantity,
                order_type=OrderType.MARKET,
                time_in_force=time_in_force,
                reduce_only=reduce_only,
            )
        )
        seq += 1
    return IntentPlan(intents=tuple(intents), next_seq=seq)
