"""Order-level limits: shorting, position size and notional, gross exposure and leverage.

Checked only for orders that are not risk-reducing, in this order; the first breach decides.
Exactly at a limit is allowed.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from mqk_risk._inputs import exact
from mqk_risk._limits import RiskLimits
from mqk_risk._switches import DEFAULT_ACTIONS, KillSwitch
from mqk_risk.errors import RiskInputError
from mqk_schemas import Decision, OrderIntent, OrderType

__all__ = ["limit_breach", "valuation_price"]

_ZERO = Decimal(0)


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


def _breach(switch: KillSwitch, message: str, evidence: dict[str, Any], **extra: Any) -> Decision:
    return Decision(
        action=DEFAULT_ACTIONS[switch],
        reason_code=switch.reason_code,
        message=message,
        evidence={**evidence, "switch": switch.value, **extra},
    )


def limit_breach(
    limits: RiskLimits,
    *,
    before: Decimal,
    after: Decimal,
    price: Decimal,
    equity: Decimal,
    gross_exposure: Decimal,
    evidence: dict[str, Any],
) -> Decision | None:
    """The first order-level limit a risk-increasing order breaches, as a REJECT, or None."""
    if after < _ZERO and not limits.allow_short:
        return _breach(
            KillSwitch.SHORT_NOT_ALLOWED,
            f"order would leave a short position of {after}; shorting is not allowed",
            evidence,
        )
    size_after = abs(after)
    if size_after > limits.max_position_quantity:
        return _breach(
            KillSwitch.MAX_POSITION_QUANTITY,
            f"position {size_after} would exceed max_position_quantity "
            f"{limits.max_position_quantity}",
            evidence,
            limit=limits.max_position_quantity,
        )
    notional_after = size_after * price
    if notional_after > limits.max_position_notional:
        return _breach(
            KillSwitch.MAX_POSITION_NOTIONAL,
            f"position notional {notional_after} would exceed max_position_notional "
            f"{limits.max_position_notional}",
            evidence,
            notional_after=notional_after,
            limit=limits.max_position_notional,
        )
    projected = gross_exposure + (size_after - abs(before)) * price
    gross_evidence = {
        "equity": equity,
        "gross_exposure": gross_exposure,
        "projected_gross_exposure": projected,
    }
    if equity <= _ZERO:
        return _breach(
            KillSwitch.MAX_LEVERAGE,
            f"equity {equity} is not positive; no risk may be added",
            evidence,
            **gross_evidence,
            limit=limits.max_leverage,
        )
    gross_limit = limits.max_gross_exposure * equity
    if projected > gross_limit:
        return _breach(
            KillSwitch.MAX_GROSS_EXPOSURE,
            f"gross exposure {projected} would exceed {limits.max_gross_exposure} x equity "
            f"= {gross_limit}",
            evidence,
            **gross_evidence,
            limit=limits.max_gross_exposure,
            limit_amount=gross_limit,
        )
    leverage_limit = limits.max_leverage * equity
    if projected > leverage_limit:
        return _breach(
            KillSwitch.MAX_LEVERAGE,
            f"gross exposure {projected} would exceed max_leverage {limits.max_leverage} x "
            f"equity = {leverage_limit}",
            evidence,
            **gross_evidence,
            limit=limits.max_leverage,
            limit_amount=leverage_limit,
        )
    return None
