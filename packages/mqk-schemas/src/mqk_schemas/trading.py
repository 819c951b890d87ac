"""Targets, intents, orders, fills, positions, accounts and broker snapshots."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field, model_validator

from mqk_schemas._base import FrozenModel
from mqk_schemas.enums import OrderStatus, OrderType, Side, TimeInForce
from mqk_schemas.identity import EngineId, Symbol
from mqk_schemas.types import (
    ExactDecimal,
    NonNegativeDecimal,
    PositiveDecimal,
    UtcDatetime,
)

__all__ = [
    "Account",
    "BrokerSnapshot",
    "Fill",
    "Order",
    "OrderIntent",
    "Position",
    "TargetPosition",
]


class TargetPosition(FrozenModel):
    """What a strategy wants to hold: a signed quantity or a signed notional, exactly one."""

    symbol: Symbol
    quantity: ExactDecimal | None = None
    notional: ExactDecimal | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> TargetPosition:
        if (self.quantity is None) == (self.notional is None):
            raise ValueError("a target sets exactly one of quantity or notional")
        return self


def _check_prices(order_type: OrderType, limit: Decimal | None, stop: Decimal | None) -> None:
    if order_type is OrderType.LIMIT and (limit is None or stop is not None):
        raise ValueError("a LIMIT order needs limit_price and no stop_price")
    if order_type is OrderType.STOP and (stop is None or limit is not None):
        raise ValueError("a STOP order needs stop_price and no limit_price")
    if order_type is OrderType.MARKET and (limit is not None or stop is not None):
        raise ValueError("a MARKET order has neither limit_price nor stop_price")


class OrderIntent(FrozenModel):
    """A decision to trade, before the OMS and the gateway have seen it."""

    engine_id: EngineId
    intent_seq: int = Field(ge=0)
    client_order_id: str = Field(min_length=3, max_length=64)
    symbol: Symbol
    side: Side
    quantity: PositiveDecimal
    order_type: OrderType = OrderType.MARKET
    limit_price: PositiveDecimal | None = None
    stop_price: PositiveDecimal | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    reduce_only: bool = False
    shadow: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> OrderIntent:
        if not self.client_order_id.startswith(f"{self.engine_id}_"):
            raise ValueError(
                f"client_order_id {self.client_order_id!r} is outside engine {self.engine_id}'s "
                "namespace"
            )
        _check_prices(self.order_type, self.limit_price, self.stop_price)
        return self


class Order(FrozenModel):
    """An order as the OMS or a broker knows it."""

    client_order_id: str = Field(min_length=3, max_length=64)
    engine_id: EngineId
    symbol: Symbol
    side: Side
    quantity: PositiveDecimal
    order_type: OrderType
    limit_price: PositiveDecimal | None = None
    stop_price: PositiveDecimal | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    status: OrderStatus
    filled_quantity: NonNegativeDecimal = Decimal(0)
    average_fill_price: PositiveDecimal | None = None
    broker_order_id: str | None = None
    replaces: str | None = Field(default=None, description="client_order_id this one replaced")
    created_at: UtcDatetime
    updated_at: UtcDatetime

    @model_validator(mode="after")
    def _consistent(self) -> Order:
        _check_prices(self.order_type, self.limit_price, self.stop_price)
        if self.filled_quantity > self.quantity:
            raise ValueError(
                f"order {self.client_order_id}: filled {self.filled_quantity} > quantity "
                f"{self.quantity}"
            )
        return self

    @property
    def remaining_quantity(self) -> Decimal:
        """Quantity still open."""
        return self.quantity - self.filled_quantity


class Fill(FrozenModel):
    """An execution reported by a broker; deduplicated by ``broker_fill_id``."""

    broker_fill_id: str = Field(min_length=1, max_length=128)
    client_order_id: str = Field(min_length=3, max_length=64)
    engine_id: EngineId
    symbol: Symbol
    side: Side
    quantity: PositiveDecimal
    price: PositiveDecimal
    fee: NonNegativeDecimal = Decimal(0)
    ts_utc: UtcDatetime

    @property
    def signed_quantity(self) -> Decimal:
        """+quantity for a buy, -quantity for a sell."""
        return self.quantity if self.side is Side.BUY else -self.quantity


class Position(FrozenModel):
    """A signed position (negative is short) with its average entry price."""

    symbol: Symbol
    quantity: ExactDecimal
    average_price: NonNegativeDecimal = Decimal(0)


class Account(FrozenModel):
    """Broker account balances."""

    account_id: str = Field(min_length=1, max_length=64)
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    cash: ExactDecimal
    equity: ExactDecimal
    buying_power: NonNegativeDecimal


class BrokerSnapshot(FrozenModel):
    """Everything a broker reports at one instant; the input of reconciliation."""

    captured_at: UtcDatetime
    account: Account
    orders: tuple[Order, ...] = ()
    fills: tuple[Fill, ...] = ()
    positions: tuple[Position, ...] = ()
