"""Order-level limits: shorting, position size and notional, gross exposure and leverage.

Checked only for orders that are not risk-reducing, in this order; the first breach decides.
Exactly at a limit is allowed.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from mqk_risk._inputs import exact
from mqk_risk._limits import RiskLimits
from mqk_risk._switches import DEFAULT_ACTIONS, KillSwitch
from mqk_risk.errors import RiskInputError
from mqk_schemas import Decision, OrderIntent, OrderType

__all__ = ["LimitBreach", "OrderLimits", "breach_decision", "limit_breach", "valuation_price"]

_ZERO: Final = Decimal(0)


def valuation_price(intent: OrderIntent, market_price: Decimal | None) -> Decimal:
    """The price an order is valued at: its limit or stop price, else the caller's market price
    (required for MARKET orders, exact and > 0)."""
    if intent.order_type is OrderType.LIMIT and intent.limit_price is not None:
        return intent.limit_price
    if intent.order_type is OrderType.STOP and intent.stop_price is not None:
        return intent.stop_price
    if market_price is None:
        raise RiskInputError(f"MARKET order {intent.client_order_id} needs context.price")
    price = exact(market_price, "context.price")
    if price <= _ZERO:
        raise RiskInputError(f"context.price {price} must be > 0")
    return price


@dataclass(frozen=True, slots=True)
class OrderLimits:
    """The order-level limits, read once from :class:`RiskLimits` (plain attributes)."""

    allow_short: bool
    max_position_quantity: Decimal
    max_position_notional: Decimal
    max_gross_exposure: Decimal
    max_leverage: Decimal

    @classmethod
    def of(cls, limits: RiskLimits) -> OrderLimits:
        """The order-level part of ``limits``."""
        return cls(
            limits.allow_short,
            limits.max_position_quantity,
            limits.max_position_notional,
            limits.max_gross_exposure,
            limits.max_leverage,
        )


LimitBreach = tuple[KillSwitch, str, dict[str, Any]]
"""A breached order-level limit: its switch, the message and the evidence added to the order's."""


def breach_decision(breach: LimitBreach, evidence: dict[str, Any]) -> Decision:
    """The REJECT of ``breach``: the order's ``evidence``, the switch, then the breach's own."""
    switch, message, extra = breach
    return Decision(
        action=DEFAULT_ACTIONS[switch],
        reason_code=switch.reason_code,
        message=message,
        evidence={**evidence, "switch": switch.value, **extra},
    )


def limit_breach(
    limits: OrderLimits,
    before: Decimal,
    after: Decimal,
    price: Decimal,
    equity: Decimal,
    gross_exposure: Decimal,
) -> LimitBreach | None:
    """The first order-level limit a risk-increasing order breaches, or None."""
    if after < _ZERO and not limits.allow_short:
        return (
            KillSwitch.SHORT_NOT_ALLOWED,
            f"order would leave a short position of {after}; shorting is not allowed",
            {},
        )
    size_after = abs(after)
    max_quantity = limits.max_position_quantity
    if size_after > max_quantity:
        return (
            KillSwitch.MAX_POSITION_QUANTITY,
            f"position {size_after} would exceed max_position_quantity {max_quantity}",
            {"limit": max_quantity},
        )
    notional_after = size_after * price
    max_notional = limits.max_position_notional
    if notional_after > max_notional:
        return (
            KillSwitch.MAX_POSITION_NOTIONAL,
            f"position notional {notional_after} would exceed max_position_notional {max_notional}",
            {"notional_after": notional_after, "limit": max_notional},
        )
    projected = gross_exposure + (size_after - abs(before)) * price
    if equity <= _ZERO:
        return (
            KillSwitch.MAX_LEVERAGE,
            f"equity {equity} is not positive; no risk may be added",
            {
                "equity": equity,
                "gross_exposure": gross_exposure,
                "projected_gross_exposure": projected,
                "limit": limits.max_leverage,
            },
        )
    max_gross = limits.max_gross_exposure
    gross_limit = max_gross * equity
    if projected > gross_limit:
        return (
            KillSwitch.MAX_GROSS_EXPOSURE,
            f"gross exposure {projected} would exceed {max_gross} x equity = {gross_limit}",
            {
                "equity": equity,
                "gross_exposure": gross_exposure,
                "projected_gross_exposure": projected,
                "limit": max_gross,
                "limit_amount": gross_limit,
            },
        )
    max_leverage = limits.max_leverage
    leverage_limit = max_leverage * equity
    if projected > leverage_limit:
        return (
            KillSwitch.MAX_LEVERAGE,
            f"gross exposure {projected} would exceed max_leverage {max_leverage} x "
            f"equity = {leverage_limit}",
            {
                "equity": equity,
                "gross_exposure": gross_exposure,
                "projected_gross_exposure": projected,
                "limit": max_leverage,
                "limit_amount": leverage_limit,
            },
        )
    return None
