"""The SimBroker's price and cost arithmetic: pure, exact Decimal functions.

Base price (before costs), for the bar an order is evaluated on:

* MARKET: the bar's open.
* LIMIT buy at L: the open if the open is already at or below L (gapped through), else L if the
  low touches L. Sells mirror it (open at or above L, else L if the high touches it).
* STOP buy at S: the open if the open is already at or above S (gapped through), else S if the
  high touches S. STOP sell: the open if at or below S, else S if the low touches it. A gap
  through a protective stop therefore fills at the (worse) open.

Costs: every fill pays half the spread plus slippage, in bps of the base price, against the
trader: ``slippage = min(slippage_cap_bps, slippage_bps + multiplier * range_bps)`` with
``range_bps = (high - low) / open * 10000`` of the fill bar. A LIMIT fill never gets a worse
price than its limit (costs are capped at L).

Rounding: the cost-adjusted price is rounded to the instrument tick *against the trader* (buys
up with ROUND_CEILING, sells down with ROUND_FLOOR), then capped at the limit. Commission is
``quantity * commission_per_share + notional * commission_bps / 10000`` accumulated per order,
with ``commission_minimum`` applied per order (not per partial fill), rounded up to the cent.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from mqk_execution._settings import ExecutionSettings
from mqk_schemas import OrderType, Side

__all__ = ["CENT", "CostModel", "base_price", "round_to_tick"]

CENT = Decimal("0.01")
_BPS = Decimal(10000)
_ZERO = Decimal(0)
# Enum members bound once: attribute lookups on an Enum class are slow in a hot loop.
_MARKET = OrderType.MARKET
_LIMIT = OrderType.LIMIT
_BUY = Side.BUY


def round_to_tick(price: Decimal, tick: Decimal, side: Side) -> Decimal:
    """Round ``price`` to a whole number of ticks against the trader (buy up, sell down)."""
    rounding = ROUND_CEILING if side is Side.BUY else ROUND_FLOOR
    rounded = (price / tick).to_integral_value(rounding=rounding) * tick
    return rounded if rounded > 0 else tick


def base_price(
    side: Side,
    order_type: OrderType,
    limit_price: Decimal | None,
    stop_price: Decimal | None,
    open_: Decimal,
    high: Decimal,
    low: Decimal,
) -> Decimal | None:
    """The pre-cost price at which an order fills on a bar, or None if the bar does not reach it."""
    if order_type is _MARKET:
        return open_
    buy = side is _BUY
    if order_type is _LIMIT:
        level = limit_price
        assert level is not None  # an Order/OrderIntent of type LIMIT always carries one
        if buy:
            return open_ if open_ <= level else (level if low <= level else None)
        return open_ if open_ >= level else (level if high >= level else None)
    level = stop_price
    assert level is not None  # an Order/OrderIntent of type STOP always carries one
    if buy:
        return open_ if open_ >= level else (level if high >= level else None)
    return open_ if open_ <= level else (level if low <= level else None)


@dataclass(frozen=True, slots=True)
class CostModel:
    """Spread, slippage and commission from :class:`ExecutionSettings`."""

    half_spread_bps: Decimal
    slippage_bps: Decimal
    volatility_multiplier: Decimal
    slippage_cap_bps: Decimal
    commission_per_share: Decimal
    commission_bps: Decimal
    commission_minimum: Decimal

    @classmethod
    def from_settings(cls, settings: ExecutionSettings) -> CostModel:
        """Read the cost fields of the ``execution`` settings."""
        return cls(
            half_spread_bps=settings.half_spread_bps,
            slippage_bps=settings.slippage_bps,
            volatility_multiplier=settings.slippage_volatility_multiplier,
            slippage_cap_bps=settings.slippage_cap_bps,
            commission_per_share=settings.commission_per_share,
            commission_bps=settings.commission_bps,
            commission_minimum=settings.commission_minimum,
        )

    @property
    def free(self) -> bool:
        """True when every cost is zero: a fill is its base price rounded to the tick, with
        no fee."""
        return not any(
            (
                self.half_spread_bps,
                self.slippage_bps,
                self.volatility_multiplier,
                self.slippage_cap_bps,
                self.commission_per_share,
                self.commission_bps,
                self.commission_minimum,
            )
        )

    def slippage(self, open_: Decimal, high: Decimal, low: Decimal) -> Decimal:
        """Slippage in bps on a bar: grows with the bar's range, capped."""
        range_bps = (high - low) / open_ * _BPS
        grown = self.slippage_bps + self.volatility_multiplier * range_bps
        return min(self.slippage_cap_bps, grown)

    def fill_price(
        self,
        base: Decimal,
        side: Side,
        limit_price: Decimal | None,
        tick: Decimal,
        bar_open: Decimal,
        bar_high: Decimal,
        bar_low: Decimal,
    ) -> Decimal:
        """The executed price: base moved against the trader by costs, rounded, limit-capped."""
        cost = self.half_spread_bps + self.slippage(bar_open, bar_high, bar_low)
        factor = (_BPS + cost) / _BPS if side is Side.BUY else (_BPS - cost) / _BPS
        price = round_to_tick(base * factor, tick, side)
        if limit_price is not None:
            price = min(price, limit_price) if side is Side.BUY else max(price, limit_price)
        return price

    def raw_commission(self, quantity: Decimal, price: Decimal) -> Decimal:
        """Commission of one fill before the per-order minimum and rounding."""
        return quantity * self.commission_per_share + quantity * price * self.commission_bps / _BPS

    def order_fee_total(self, raw_total: Decimal) -> Decimal:
        """An order's total fee so far: at least the minimum, rounded up to the cent."""
        if raw_total == _ZERO and self.commission_minimum == _ZERO:
            return _ZERO
        fee = max(self.commission_minimum, raw_total)
        return (fee / CENT).to_integral_value(rounding=ROUND_CEILING) * CENT
