"""What a strategy returns: target positions and, optionally, a protective stop per symbol."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from mqk_schemas import TargetPosition
from mqk_strategy.errors import StrategyOutputError

__all__ = ["ProtectiveStop", "StrategyOutput"]


@dataclass(frozen=True, slots=True)
class ProtectiveStop:
    """A request that the position held for ``symbol`` be protected by a stop at ``stop_price``.

    The side follows the position (a sell stop under a long, a buy stop over a short); placing,
    trailing and never loosening it is execution's job. ``take_profit`` optionally adds a
    profit-taking limit on the other side, one-cancels-other with the stop.
    """

    symbol: str
    stop_price: Decimal
    take_profit: Decimal | None = None

    def __post_init__(self) -> None:
        for name, price in (("stop_price", self.stop_price), ("take_profit", self.take_profit)):
            if price is None and name == "take_profit":
                continue
            if type(price) is not Decimal or not price.is_finite() or price <= 0:
                raise StrategyOutputError(
                    f"stop for {self.symbol}: {name} {price!r} must be a finite Decimal > 0"
                )


@dataclass(frozen=True, slots=True)
class StrategyOutput:
    """Targets (never orders) for one bar, plus protective stops for non-zero targets.

    Rules: every target is a :class:`mqk_schemas.TargetPosition`, one per symbol; every stop
    names a symbol that has a non-zero target in the same output, one per symbol.
    """

    targets: tuple[TargetPosition, ...]
    stops: tuple[ProtectiveStop, ...] = ()

    def __post_init__(self) -> None:
        if type(self.targets) is not tuple or type(self.stops) is not tuple:
            raise StrategyOutputError("StrategyOutput.targets and .stops must be tuples")
        held: dict[str, bool] = {}
        for target in self.targets:
            if not isinstance(target, TargetPosition):
                raise StrategyOutputError(
                    f"a strategy returns TargetPosition targets, not {type(target).__name__}"
                )
            if target.symbol in held:
                raise StrategyOutputError(f"two targets for {target.symbol}")
            amount = target.quantity if target.quantity is not None else target.notional
            held[target.symbol] = bool(amount)
        seen: set[str] = set()
        for stop in self.stops:
            if not isinstance(stop, ProtectiveStop):
                raise StrategyOutputError(f"a stop must be a ProtectiveStop, not {stop!r}")
            if stop.symbol in seen:
                raise StrategyOutputError(f"two stops for {stop.symbol}")
            if not held.get(stop.symbol, False):
                raise StrategyOutputError(
                    f"stop for {stop.symbol} has no non-zero target in the same output"
                )
            seen.add(stop.symbol)

    def stop_for(self, symbol: str) -> Decimal | None:
        """The stop price requested for ``symbol``, if any."""
        for stop in self.stops:
            if stop.symbol == symbol:
                return stop.stop_price
        return None
