"""A run's orders kept compact: the fields that differ per order, made into models on access."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from typing import overload

from mqk_schemas import Order, OrderStatus, OrderType, Side, TimeInForce, trusted

__all__ = ["OrderLog", "OrderRecord"]

# client_order_id, symbol, side, quantity, status, filled, average price, broker id,
# created_at, updated_at (a MARKET GTC order as the gateway's order manager keeps it), then
# created_at and updated_at as format_utc writes them (the run has those texts at hand)
OrderRecord = tuple[
    str,
    str,
    Side,
    Decimal,
    OrderStatus,
    Decimal,
    Decimal | None,
    str,
    datetime,
    datetime,
    str,
    str,
]


class OrderLog(Sequence[Order]):
    """A run's MARKET orders, oldest first: compact records, each an :class:`Order` on access
    (equal to the order manager's own)."""

    __slots__ = ("_engine_id", "_records")

    def __init__(self, engine_id: str, records: list[OrderRecord]) -> None:
        self._engine_id = engine_id
        self._records = records

    def __len__(self) -> int:
        return len(self._records)

    def records(self) -> Iterator[OrderRecord]:
        """The compact records, oldest first (what the CSV writer reads without building
        :class:`Order` models)."""
        return iter(self._records)

    @overload
    def __getitem__(self, index: int) -> Order: ...

    @overload
    def __getitem__(self, index: slice) -> list[Order]: ...

    def __getitem__(self, index: int | slice) -> Order | list[Order]:
        if isinstance(index, slice):
            return [self._order(record) for record in self._records[index]]
        return self._order(self._records[index])

    def __iter__(self) -> Iterator[Order]:
        return (self._order(record) for record in self._records)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence):
            return len(self) == len(other) and all(
                a == b for a, b in zip(self, other, strict=False)
            )
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def _order(self, record: OrderRecord) -> Order:
        coid, symbol, side, quantity, status, filled, average, broker_id, created, updated = record[
            :10
        ]
        return trusted(
            Order,
            {
                "client_order_id": coid,
                "engine_id": self._engine_id,
                "symbol": symbol,
                "side": side,
                "quantity": quantity,
                "order_type": OrderType.MARKET,
                "limit_price": None,
                "stop_price": None,
                "time_in_force": TimeInForce.GTC,
                "status": status,
                "filled_quantity": filled,
                "average_fill_price": average,
                "broker_order_id": broker_id,
                "replaces": None,
                "created_at": created,
                "updated_at": updated,
            },
        )
