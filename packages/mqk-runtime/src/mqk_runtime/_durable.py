"""DurableBroker: the crash-safety layer between the execution gateway and a broker adapter.

Outbound, every order is committed to the outbox (PENDING) before the broker is called, moved
to SENT just before the call and to ACKED (or FAILED on a broker reject) after it; the
client_order_id is the idempotency key, so a retry after a crash reuses it. Inbound, every fill
is stored in the inbox under its broker_fill_id and then applied exactly once (the commit that
marks it applied), before the gateway's OMS hears of it; duplicates and redeliveries are
dropped there, whatever order they arrive in.

The gateway binds this object as its broker; it binds the inner adapter with the gateway's own
capability, so the gateway remains the only path to the broker.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from mqk_db import OutboxEntry
from mqk_execution import Bracket, BrokerAdapter, BrokerCapability, BrokerListener, BrokerUpdate
from mqk_runtime._failpoints import Failpoints
from mqk_runtime._store import RunStore, inbox_fill
from mqk_schemas import Action, BrokerSnapshot, Decision, Fill, Order, OrderIntent, OrderStatus

__all__ = ["DurableBroker", "FillConflictHandler", "FillHandler"]

FillHandler = Callable[[Fill], None]
"""Called once per fill, right after the commit that applied it (ledger, risk)."""

FillConflictHandler = Callable[[Decision], None]
"""Called when the broker reuses a fill id for a different fill (a kill switch)."""


class DurableBroker:
    """A :class:`~mqk_execution.BrokerAdapter` that adds the outbox and the inbox (module doc)."""

    def __init__(
        self,
        inner: BrokerAdapter,
        store: RunStore,
        *,
        clock: Callable[[], datetime],
        on_fill: FillHandler,
        on_conflict: FillConflictHandler,
        failpoints: Failpoints | None = None,
    ) -> None:
        self._inner = inner
        self._store = store
        self._clock = clock
        self._on_fill = on_fill
        self._on_conflict = on_conflict
        self._failpoints = failpoints or Failpoints.disabled()
        self._listener: BrokerListener | None = None
        self._reasons: dict[str, str] = {}

    # -- BrokerAdapter ------------------------------------------------------------------------

    def bind(self, capability: BrokerCapability, listener: BrokerListener | None) -> None:
        """Bind the inner broker with the gateway's capability; updates pass the inbox first."""
        self._listener = listener
        self._inner.bind(capability, self._on_update)

    def submit(
        self, capability: BrokerCapability, intent: OrderIntent, bracket: Bracket | None = None
    ) -> Order:
        """Outbox first, then the broker (see the module docstring)."""
        self._failpoints.hit("before_outbox_commit")
        entry, _ = self._store.enqueue(intent, bracket=bracket, replaces=None, now=self._clock())
        self._failpoints.hit("after_outbox_commit")
        return self._send(entry, lambda: self._inner.submit(capability, intent, bracket))

    def replace(
        self, capability: BrokerCapability, client_order_id: str, replacement: OrderIntent
    ) -> Order:
        """A replacement is a new order: outbox first, then the broker."""
        self._failpoints.hit("before_outbox_commit")
        entry, _ = self._store.enqueue(
            replacement, bracket=None, replaces=client_order_id, now=self._clock()
        )
        self._failpoints.hit("after_outbox_commit")
        return self._send(
            entry, lambda: self._inner.replace(capability, client_order_id, replacement)
        )

    def cancel(self, capability: BrokerCapability, client_order_id: str) -> Order:
        """Cancels are idempotent and never add exposure: straight to the broker."""
        return self._inner.cancel(capability, client_order_id)

    def snapshot(self) -> BrokerSnapshot:
        """The inner broker's snapshot."""
        return self._inner.snapshot()

    # -- inbox --------------------------------------------------------------------------------

    def ingest(self, fill: Fill) -> bool:
        """Store and apply one broker fill exactly once; True when this call applied it."""
        now = self._clock()
        message, created = self._store.receive_fill(fill, now=now)
        if not created and inbox_fill(message) != fill:
            self._on_conflict(
                Decision(
                    action=Action.DISARM,
                    reason_code="FILL_ID_CONFLICT",
                    message=f"broker fill id {fill.broker_fill_id} was reused for a different fill",
                    evidence={
                        "broker_fill_id": fill.broker_fill_id,
                        "stored": message.payload,
                        "received": fill.model_dump(mode="json"),
                    },
                )
            )
            return False
        self._failpoints.hit("mid_fill_apply")
        applied = not message.applied and self._store.apply_fill(fill.broker_fill_id, now=now)
        if applied:
            self._on_fill(fill)
        self._failpoints.hit("after_fill_apply")
        return applied

    def reason(self, client_order_id: str) -> str | None:
        """The last reason the broker gave for closing ``client_order_id`` (e.g. a reject)."""
        return self._reasons.get(client_order_id)

    # -- internals ----------------------------------------------------------------------------

    def _send(self, entry: OutboxEntry, call: Callable[[], Order]) -> Order:
        key = entry.idempotency_key
        status = entry.status
        if status == "PENDING":
            self._store.set_status(key, "SENT", now=self._clock())
            status = "SENT"
        self._failpoints.hit("before_broker_submit")
        order = call()
        self._failpoints.hit("after_broker_submit")
        if status in ("SENT", "AMBIGUOUS"):
            if order.status is OrderStatus.REJECTED:
                reason = self._reasons.get(key, "REJECTED")
                self._store.set_status(key, "FAILED", now=self._clock(), error=reason)
            else:
                self._store.set_status(
                    key, "ACKED", now=self._clock(), broker_order_id=order.broker_order_id
                )
        self._failpoints.hit("after_broker_ack")
        return order

    def _on_update(self, update: BrokerUpdate) -> None:
        if update.reason is not None:
            self._reasons[update.order.client_order_id] = update.reason
        if update.fill is not None:
            self.ingest(update.fill)
        if self._listener is not None:
            self._listener(update)
