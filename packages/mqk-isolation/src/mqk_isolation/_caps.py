"""Per-engine allocation caps, enforced at the execution boundary on the order's worst-case price.

Worst-case price of an order (the price its added exposure is valued at):

- MARKET: ``reference_price * (1 + market_buffer)``; the caller hands in the reference price (the
  last close or quote) and the guard was built with the buffer (e.g. the execution settings'
  half spread plus ``slippage_cap_bps``);
- LIMIT: the limit price (a buy cannot fill above it);
- STOP: the stop price (a gap through the trigger can fill beyond it; the cap is checked again,
  on marked exposure, for every later order).

An order is refused (REJECT, ``ENGINE_CAP_EXCEEDED``) when the engine's gross exposure after it
would exceed ``allocation_cap * account_equity``; exactly at the cap is allowed. An order that
does not grow the engine's position in its symbol (``|after| <= |before|``) is never refused
here, so an engine above its cap after a price move can always reduce.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any, Final, Protocol

from mqk_isolation._settings import allocation_cap_violations, validate_engine_settings
from mqk_isolation.errors import AllocationInputError, EngineSettingsError, UnknownEngineError
from mqk_schemas import (
    Action,
    Decision,
    OrderIntent,
    OrderType,
    SchemaError,
    Side,
    to_decimal,
    trusted,
)

__all__ = ["AllocationGuard", "ExposureView", "worst_case_price"]

_ZERO: Final = Decimal(0)
_ALLOW: Final = Decision.allow()
_BUY: Final = Side.BUY  # enum members read once (a class attribute lookup costs ~70 ns)
_LIMIT: Final = OrderType.LIMIT
_STOP: Final = OrderType.STOP


class ExposureView(Protocol):
    """The read-only slice of one engine's ledger the cap check needs."""

    @property
    def gross_exposure(self) -> Decimal:
        """The engine's gross exposure: sum over symbols of ``|quantity| * mark``."""
        ...

    def position(self, symbol: str) -> Decimal:
        """The engine's signed quantity in ``symbol`` (0 when flat)."""
        ...


def _exact(value: Any, name: str) -> Decimal:
    if type(value) is Decimal and value.is_finite():  # already exact (the usual case)
        return value
    try:
        return to_decimal(value)
    except SchemaError as exc:
        raise AllocationInputError(f"{name}: {exc}") from None


def worst_case_price(
    intent: OrderIntent, *, reference_price: Decimal | None, market_buffer: Decimal
) -> Decimal:
    """The price ``intent``'s exposure is valued at (see the module docstring)."""
    order_type = intent.order_type
    if order_type is _LIMIT and intent.limit_price is not None:
        return intent.limit_price
    if order_type is _STOP and intent.stop_price is not None:
        return intent.stop_price
    if reference_price is None:
        raise AllocationInputError(
            f"MARKET order {intent.client_order_id} needs a reference_price to be valued"
        )
    price = _exact(reference_price, "reference_price")
    if price <= _ZERO:
        raise AllocationInputError(f"reference_price {price} must be > 0")
    return price * (1 + market_buffer)


class AllocationGuard:
    """Holds every engine's allocation cap and checks orders against it.

    Build it from validated engine settings (:meth:`from_settings`) or from a mapping
    ``engine_id -> cap``; either way the caps must be in (0, 1] and sum to <= 1.
    """

    __slots__ = ("_caps", "_market_buffer")

    def __init__(self, caps: Mapping[str, Decimal], *, market_buffer: Decimal) -> None:
        violations = allocation_cap_violations(caps)
        if violations:
            raise EngineSettingsError(violations)
        buffer = _exact(market_buffer, "market_buffer")
        if buffer < _ZERO:
            raise AllocationInputError(f"market_buffer {buffer} must be >= 0")
        self._caps = {engine_id: to_decimal(cap) for engine_id, cap in caps.items()}
        self._market_buffer = buffer

    @classmethod
    def from_settings(
        cls, engines: Iterable[Any] | Mapping[str, Any], *, market_buffer: Decimal
    ) -> AllocationGuard:
        """A guard over engine settings, after every isolation rule has passed."""
        settings = validate_engine_settings(engines)
        caps = {item.engine_id: item.allocation_cap for item in settings}
        return cls(caps, market_buffer=market_buffer)

    @property
    def market_buffer(self) -> Decimal:
        """Fraction added to a MARKET order's reference price."""
        return self._market_buffer

    def cap(self, engine_id: str) -> Decimal:
        """The allocation cap (share of account equity) of ``engine_id``."""
        try:
            return self._caps[engine_id]
        except KeyError:
            raise UnknownEngineError(f"no allocation cap for engine {engine_id!r}") from None

    def check_allocation(
        self,
        intent: OrderIntent,
        *,
        exposure: ExposureView,
        account_equity: Decimal,
        reference_price: Decimal | None = None,
        pending_same_side: Decimal = _ZERO,
    ) -> Decision:
        """ALLOW, or REJECT ``ENGINE_CAP_EXCEEDED`` when ``intent`` would take its engine's gross
        exposure over ``cap * account_equity``.

        ``exposure`` is the intent's engine's own ledger view; ``reference_price`` is required
        for MARKET orders; ``pending_same_side`` is the unfilled quantity of the engine's other
        open (non-protective) orders on the intent's side in its symbol, assumed to fill too
        and valued at this order's worst-case price.
        """
        cap = self.cap(intent.engine_id)
        pending = _exact(pending_same_side, "pending_same_side")
        if pending < _ZERO:
            raise AllocationInputError(f"pending_same_side {pending} must be >= 0")
        before = _exact(exposure.position(intent.symbol), "position")
        total = intent.quantity + pending
        after = before + (total if intent.side is _BUY else -total)
        if abs(after) <= abs(before):
            return _ALLOW
        price = worst_case_price(
            intent, reference_price=reference_price, market_buffer=self._market_buffer
        )
        equity = _exact(account_equity, "account_equity")
        current = _exact(exposure.gross_exposure, "gross_exposure")
        added = (abs(after) - abs(before)) * price
        projected = current + added
        cap_amount = cap * equity
        if projected <= cap_amount:
            return _ALLOW
        # built from known-valid parts (a capped engine refuses entry after entry: a hot path)
        return trusted(
            Decision,
            {
                "action": Action.REJECT,
                "reason_code": "ENGINE_CAP_EXCEEDED",
                "message": (
                    f"engine {intent.engine_id} exposure would be {projected}, over its cap "
                    f"{cap} x account equity {equity} = {cap_amount}"
                ),
                "evidence": {
                    "engine_id": intent.engine_id,
                    "client_order_id": intent.client_order_id,
                    "symbol": intent.symbol,
                    "side": intent.side._value_,  # .value is an interpreted property
                    "quantity": intent.quantity,
                    "pending_same_side": pending,
                    "order_type": intent.order_type._value_,
                    "position": before,
                    "position_after": after,
                    "worst_case_price": price,
                    "current_exposure": current,
                    "added_exposure": added,
                    "projected_exposure": projected,
                    "allocation_cap": cap,
                    "account_equity": equity,
                    "cap_amount": cap_amount,
                },
            },
        )
