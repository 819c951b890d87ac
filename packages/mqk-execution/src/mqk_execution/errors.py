"""Exceptions raised by :mod:`mqk_execution`.

Refusals (not armed, halted, risk or cap breached) are *decisions*, never exceptions; these
errors are for misuse of the API and for broker reports that break the order state machine.

::

    ExecutionError                  base of every error raised here
    ├── ExecutionSettingsError    execution settings that are negative, unknown or malformed
    ├── IntentError                 targets that cannot become intents (duplicate symbol, no price)
    ├── ArmingError                 an arm verifier bound to another run or engine
    ├── BrokerAccessError          a broker call without the gateway's capability, or a rebind
    └── OrderStateError             an order report the OMS cannot accept
        ├── IllegalOrderTransition  a status change the state machine does not allow
        ├── OverfillError           a fill that would take an order beyond its quantity
        ├── UnknownOrderError       an operation on a client_order_id nobody knows
        └── FillMismatchError       a fill that contradicts its order, or a reused fill id
"""

from __future__ import annotations

from decimal import Decimal

from mqk_schemas import OrderStatus, format_decimal

__all__ = [
    "ArmingError",
    "BrokerAccessError",
    "ExecutionError",
    "ExecutionSettingsError",
    "FillMismatchError",
    "IllegalOrderTransition",
    "IntentError",
    "OrderStateError",
    "OverfillError",
    "UnknownOrderError",
]


class ExecutionError(Exception):
    """Base class of every error raised by mqk_execution."""

    reason_code: str = "EXECUTION_ERROR"


class ExecutionSettingsError(ExecutionError):
    """Execution settings were refused; ``problems`` lists ``(key path, rule)`` pairs."""

    reason_code = "EXECUTION_SETTINGS_INVALID"

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = tuple(problems)
        lines = "; ".join(f"{path}: {rule}" for path, rule in self.problems)
        super().__init__(f"invalid execution settings: {lines}")


class IntentError(ExecutionError):
    """Targets could not be turned into order intents (nothing was produced)."""

    reason_code = "INTENT_INVALID"


class ArmingError(ExecutionError):
    """An arm verifier does not belong to the gateway's run and engine."""

    reason_code = "ARMING_MISMATCH"


class BrokerAccessError(ExecutionError):
    """A broker was called without the capability of the gateway it is bound to."""

    reason_code = "BROKER_ACCESS_DENIED"


class OrderStateError(ExecutionError):
    """Base of the OMS errors."""

    reason_code = "ORDER_STATE_ERROR"


class IllegalOrderTransition(OrderStateError):  # noqa: N818 (name fixed by the issue)
    """An order status change that the state machine forbids."""

    reason_code = "ILLEGAL_ORDER_TRANSITION"

    def __init__(self, client_order_id: str, from_status: OrderStatus, to_status: OrderStatus):
        self.client_order_id = client_order_id
        self.from_status = from_status
        self.to_status = to_status
        super().__init__(
            f"order {client_order_id}: illegal transition {from_status.value} -> {to_status.value}"
        )


class OverfillError(OrderStateError):
    """A fill that would take an order's filled quantity beyond its quantity."""

    reason_code = "OVERFILL"

    def __init__(
        self, client_order_id: str, quantity: Decimal, filled: Decimal, fill_quantity: Decimal
    ) -> None:
        self.client_order_id = client_order_id
        self.quantity = quantity
        self.filled = filled
        self.fill_quantity = fill_quantity
        super().__init__(
            f"order {client_order_id}: fill of {format_decimal(fill_quantity)} on top of "
            f"{format_decimal(filled)} exceeds quantity {format_decimal(quantity)}"
        )


class UnknownOrderError(OrderStateError):
    """A client_order_id that is not known here."""

    reason_code = "UNKNOWN_ORDER"

    def __init__(self, client_order_id: str) -> None:
        self.client_order_id = client_order_id
        super().__init__(f"unknown order {client_order_id!r}")


class FillMismatchError(OrderStateError):
    """A fill whose symbol/side/engine differs from its order, or a fill id reused differently."""

    reason_code = "FILL_MISMATCH"
