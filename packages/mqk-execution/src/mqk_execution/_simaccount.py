"""The SimBroker's account: cash and average-price positions, as a broker would report them."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from mqk_schemas import Account, Position, Side

__all__ = ["SimAccount"]

_ZERO = Decimal(0)
_FLAT = (_ZERO, _ZERO)


class SimAccount:
    """Cash and positions (signed quantity, average entry price) of one simulated account."""

    __slots__ = ("_account_id", "_cash", "_currency", "_positions")

    def __init__(self, account_id: str, starting_cash: Decimal, currency: str) -> None:
        self._account_id = account_id
        self._currency = currency
        self._cash = starting_cash
        self._positions: dict[str, tuple[Decimal, Decimal]] = {}

    def position(self, symbol: str) -> Decimal:
        """Signed quantity held in ``symbol``."""
        return self._positions.get(symbol, _FLAT)[0]

    def closable(self, symbol: str, side: Side) -> Decimal:
        """How much an order on ``side`` can close (reduce-only cap)."""
        quantity = self._positions.get(symbol, _FLAT)[0]
        return max(quantity, _ZERO) if side is Side.SELL else max(-quantity, _ZERO)

    def book(self, symbol: str, signed: Decimal, price: Decimal, fee: Decimal) -> None:
        """Apply a fill: cash pays price and fee; the average resets when the side flips."""
        self._cash -= signed * price + fee
        quantity, average = self._positions.get(symbol, _FLAT)
        new_quantity = quantity + signed
        if new_quantity == 0:
            self._positions.pop(symbol, None)
            return
        if quantity == 0 or (quantity > 0) == (signed > 0):
            average = (abs(quantity) * average + abs(signed) * price) / abs(new_quantity)
        elif (quantity > 0) != (new_quantity > 0):
            average = price
        self._positions[symbol] = (new_quantity, average)

    def report(self, marks: Mapping[str, Decimal]) -> tuple[Account, tuple[Position, ...]]:
        """The account and its positions, equity marked at ``marks`` (else average price)."""
        positions = tuple(
            Position(symbol=symbol, quantity=quantity, average_price=average)
            for symbol, (quantity, average) in sorted(self._positions.items())
        )
        equity = self._cash
        for symbol, (quantity, average) in self._positions.items():
            equity += quantity * marks.get(symbol, average)
        account = Account(
            account_id=self._account_id,
            currency=self._currency,
            cash=self._cash,
            equity=equity,
            buying_power=max(self._cash, _ZERO),
        )
        return account, positions
