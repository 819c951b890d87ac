"""The SimBroker's mutable working records of orders and brackets (private)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum

from mqk_schemas import Order, OrderIntent, OrderStatus, OrderType, Side, TimeInForce

__all__ = ["Leg", "SimGroup", "SimOrder"]

_ZERO = Decimal(0)


class Leg(Enum):
    """The role of an order inside a bracket."""

    ENTRY = "ENTRY"
    STOP = "STOP"
    TARGET = "TARGET"


@dataclass(slots=True, eq=False)
class SimOrder:
    """One order as the SimBroker works it; ``last`` is its most recently reported state."""

    seq: int
    coid: str
    engine_id: str
    symbol: str
    side: Side
    quantity: Decimal
    order_type: OrderType
    limit_price: Decimal | None
    stop_price: Decimal | None
    tif: TimeInForce
    reduce_only: bool
    broker_order_id: str
    replaces: str | None
    created_at: datetime
    updated_at: datetime
    eligible_from: int = 0
    status: OrderStatus = OrderStatus.SUBMITTED
    filled: Decimal = _ZERO
    notional: Decimal = _ZERO
    raw_commission: Decimal = _ZERO
    fee_charged: Decimal = _ZERO
    fill_count: int = 0
    day_date: date | None = None
    cancel_at: int | None = None
    replace_of: SimOrder | None = None
    replace_at: int = 0
    replace_seen_filled: Decimal = _ZERO
    group: SimGroup | None = None
    leg: Leg | None = None
    last: Order | None = None

    @classmethod
    def from_intent(
        cls, seq: int, intent: OrderIntent, now: datetime, replaces: str | None
    ) -> SimOrder:
        """A new order as the broker accepts it from an intent."""
        return cls(
            seq=seq,
            coid=intent.client_order_id,
            engine_id=intent.engine_id,
            symbol=intent.symbol,
            side=intent.side,
            quantity=intent.quantity,
            order_type=intent.order_type,
            limit_price=intent.limit_price,
            stop_price=intent.stop_price,
            tif=intent.time_in_force,
            reduce_only=intent.reduce_only,
            broker_order_id=f"SIM-{seq:08d}",
            replaces=replaces,
            created_at=now,
            updated_at=now,
        )

    @classmethod
    def exit_leg(
        cls,
        seq: int,
        group: SimGroup,
        leg: Leg,
        quantity: Decimal,
        price: Decimal,
        now: datetime,
        replaces: SimOrder | None,
    ) -> SimOrder:
        """A bracket's stop (STOP) or target (LIMIT) leg: opposite side, reduce-only, GTC.

        Its id is the entry's id plus ``-S<n>`` / ``-T<n>`` (n counts that leg's versions).
        """
        entry = group.entry
        if leg is Leg.STOP:
            suffix = f"S{group.stop_generation}"
            group.stop_generation += 1
        else:
            suffix = f"T{group.target_generation}"
            group.target_generation += 1
        return cls(
            seq=seq,
            coid=f"{entry.coid}-{suffix}",
            engine_id=entry.engine_id,
            symbol=entry.symbol,
            side=Side.SELL if entry.side is Side.BUY else Side.BUY,
            quantity=quantity,
            order_type=OrderType.STOP if leg is Leg.STOP else OrderType.LIMIT,
            limit_price=price if leg is Leg.TARGET else None,
            stop_price=price if leg is Leg.STOP else None,
            tif=TimeInForce.GTC,
            reduce_only=True,
            broker_order_id=f"SIM-{seq:08d}",
            replaces=replaces.coid if replaces is not None else None,
            created_at=now,
            updated_at=now,
            group=group,
            leg=leg,
        )

    @property
    def remaining(self) -> Decimal:
        """Quantity still to fill."""
        return self.quantity - self.filled

    @property
    def is_exit_leg(self) -> bool:
        """True for a bracket's stop or target."""
        return self.leg is Leg.STOP or self.leg is Leg.TARGET

    def to_order(self) -> Order:
        """The order in the shared vocabulary."""
        return Order(
            client_order_id=self.coid,
            engine_id=self.engine_id,
            symbol=self.symbol,
            side=self.side,
            quantity=self.quantity,
            order_type=self.order_type,
            limit_price=self.limit_price,
            stop_price=self.stop_price,
            time_in_force=self.tif,
            status=self.status,
            filled_quantity=self.filled,
            average_fill_price=self.notional / self.filled if self.filled else None,
            broker_order_id=self.broker_order_id,
            replaces=self.replaces,
            created_at=self.created_at,
            updated_at=self.updated_at,
        )


@dataclass(slots=True, eq=False)
class SimGroup:
    """A bracket: its entry, its current exit legs and their settings."""

    entry: SimOrder
    stop_price: Decimal
    target_price: Decimal | None
    trail_amount: Decimal | None
    stop: SimOrder | None = None
    target: SimOrder | None = None
    stop_generation: int = 0
    target_generation: int = 0
    closed: bool = False
