"""The broker adapter protocol, the gateway's capability and the update stream.

A broker adapter is bound exactly once to one gateway: ``bind(capability, listener)``. From then
on every mutating call (submit, cancel, replace) must carry that very capability object, or the
adapter raises :class:`~mqk_execution.errors.BrokerAccessError`. The gateway creates the
capability privately and never exposes it or the adapter, so the gateway is the only path to a
broker. ``snapshot()`` is read-only (reconciliation needs it) and needs no capability.

Submits are idempotent on ``client_order_id``: submitting a known id returns the existing order
and creates nothing. Every order change the broker makes (acknowledged, filled, canceled,
rejected, bracket legs created, trailing-stop replacements) is reported to the bound listener as
a :class:`BrokerUpdate`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from mqk_schemas import BrokerSnapshot, Fill, Order, OrderIntent

__all__ = [
    "Bracket",
    "BrokerAdapter",
    "BrokerCapability",
    "BrokerListener",
    "BrokerUpdate",
]


class BrokerCapability:
    """An opaque, identity-compared permission to mutate a broker; minted by the gateway."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<BrokerCapability>"


@dataclass(frozen=True, slots=True)
class Bracket:
    """Exit legs attached to an entry: a protective stop, an optional target, an optional trail.

    The legs activate when the entry fills (sized to the filled quantity), are one-cancels-other,
    and are reduce-only at the broker. With ``trail_amount`` the stop follows the close at that
    distance, moving only by replace on a bar close and never loosening.
    """

    stop_price: Decimal
    target_price: Decimal | None = None
    trail_amount: Decimal | None = None


@dataclass(frozen=True, slots=True)
class BrokerUpdate:
    """One change of one order at the broker; ``fill`` is set when a fill caused it.

    ``reason`` is a machine-readable code for cancels and rejects (e.g. ``REPLACED``, ``OCO``,
    ``IOC_EXPIRED``); ``protective`` marks bracket exit legs.
    """

    order: Order
    fill: Fill | None = None
    reason: str | None = None
    protective: bool = False


BrokerListener = Callable[[BrokerUpdate], None]
"""Receives every :class:`BrokerUpdate`, in the order the broker made the changes."""


class BrokerAdapter(Protocol):
    """What the gateway needs from a broker (SimBroker or a real one)."""

    def bind(self, capability: BrokerCapability, listener: BrokerListener | None) -> None:
        """Accept ``capability`` as the only key for mutating calls; a second bind is refused."""
        ...

    def submit(
        self, capability: BrokerCapability, intent: OrderIntent, bracket: Bracket | None = None
    ) -> Order:
        """Send an order (idempotent on ``intent.client_order_id``); returns its state."""
        ...

    def cancel(self, capability: BrokerCapability, client_order_id: str) -> Order:
        """Request a cancel; returns the order (already CANCELED when it took effect at once)."""
        ...

    def replace(
        self, capability: BrokerCapability, client_order_id: str, replacement: OrderIntent
    ) -> Order:
        """Replace an open order by ``replacement`` (new client_order_id, same symbol/side/type);
        returns the replacement order, whose ``replaces`` names the old one."""
        ...

    def snapshot(self) -> BrokerSnapshot:
        """Orders, fills, positions and account as the broker sees them now."""
        ...
