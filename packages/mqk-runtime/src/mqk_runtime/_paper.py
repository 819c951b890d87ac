"""PaperBroker: the SimBroker behind the broker adapter protocol, with its state persisted.

Every input the broker receives (submit, cancel, replace, and every bar it trades against) is
committed to its journal *before* it takes effect; reopening the broker replays the journal into
a fresh, deterministic :class:`~mqk_execution.SimBroker`, so a paper run survives restarts with
the very same orders, fills and positions. The journal is also the broker's record of every
submit it ever received (:attr:`PaperBroker.submits`), which is how tests prove that no
client_order_id reached the broker twice.

Binding a listener first delivers the broker's whole update history to it, in order, as a
reconnecting client of a real broker would replay its order/fill stream: a resumed gateway's
OMS learns every order that exists, and every fill passes the inbox (which drops the ones
already applied and applies any that were lost in a crash).

:class:`BrokerFaults` injects misbehaviour on purpose: every fill delivered twice, the fills of
one bar delivered in reverse order, every submit rejected.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from mqk_execution import (
    Bracket,
    BrokerAccessError,
    BrokerCapability,
    BrokerListener,
    BrokerUpdate,
    ExecutionError,
    ExecutionSettings,
    SimBroker,
)
from mqk_runtime._failpoints import Failpoints
from mqk_runtime._journal import JournalEntry, PaperJournal
from mqk_runtime.errors import PaperJournalError
from mqk_schemas import (
    Bar,
    BrokerSnapshot,
    Fill,
    Order,
    OrderIntent,
    OrderStatus,
    SchemaError,
    format_decimal,
    to_decimal,
)

__all__ = ["FAULT_REJECT", "BrokerFaults", "PaperBroker"]

FAULT_REJECT = "FAULT_REJECT"
"""Reason of a reject injected by :attr:`BrokerFaults.reject_submits`."""

_NO_FILLS: tuple[Fill, ...] = ()


@dataclass(frozen=True, slots=True)
class BrokerFaults:
    """Broker misbehaviour to inject (drills and fault tests); all off by default."""

    duplicate_fills: bool = False
    """Deliver every fill update twice."""
    reverse_fill_batches: bool = False
    """Deliver the fill updates of one bar in reverse order."""
    reject_submits: bool = False
    """Reject every new order (reason ``FAULT_REJECT``)."""


def _bracket_json(bracket: Bracket | None) -> dict[str, str | None] | None:
    if bracket is None:
        return None
    return {
        "stop_price": format_decimal(bracket.stop_price),
        "target_price": None
        if bracket.target_price is None
        else format_decimal(bracket.target_price),
        "trail_amount": None
        if bracket.trail_amount is None
        else format_decimal(bracket.trail_amount),
    }


def _bracket_from(data: Any) -> Bracket | None:
    if data is None:
        return None
    return Bracket(
        stop_price=to_decimal(data["stop_price"]),
        target_price=None if data["target_price"] is None else to_decimal(data["target_price"]),
        trail_amount=None if data["trail_amount"] is None else to_decimal(data["trail_amount"]),
    )


class PaperBroker:
    """A persisted paper account: a SimBroker whose inputs are journaled (see module doc).

    ``clock`` stamps requests and snapshots; ``account_id``, ``starting_cash`` and ``currency``
    mirror config section ``broker``. Construction replays the journal (empty for a new run).
    """

    def __init__(
        self,
        settings: ExecutionSettings,
        *,
        journal: PaperJournal,
        clock: Callable[[], datetime],
        account_id: str,
        starting_cash: Decimal,
        currency: str = "USD",
        faults: BrokerFaults | None = None,
        failpoints: Failpoints | None = None,
    ) -> None:
        self._journal = journal
        self._clock = clock
        self._faults = faults or BrokerFaults()
        self._failpoints = failpoints or Failpoints.disabled()
        self._applying_at: datetime | None = None
        self._sim = SimBroker(
            settings,
            clock=self._sim_now,
            account_id=account_id,
            starting_cash=starting_cash,
            currency=currency,
        )
        self._key = BrokerCapability()
        self._sim.bind(self._key, self._on_sim_update)
        self._capability: BrokerCapability | None = None
        self._listener: BrokerListener | None = None
        self._history: list[BrokerUpdate] = []
        self._batch: list[BrokerUpdate] | None = None
        self._rejected: dict[str, Order] = {}
        self._external: dict[str, Order] = {}
        self._last_bar: dict[str, datetime] = {}
        self._submits: list[str] = []
        self._replay(journal.entries())

    # -- read-only ----------------------------------------------------------------------------

    @property
    def submits(self) -> tuple[str, ...]:
        """The client_order_id of every submit ever received, in order (duplicates included)."""
        return tuple(self._submits)

    @property
    def faults(self) -> BrokerFaults:
        """The faults this broker injects."""
        return self._faults

    def last_bar_ts(self, symbol: str) -> datetime | None:
        """Close time of the last bar of ``symbol`` the broker traded against."""
        return self._last_bar.get(symbol)

    # -- BrokerAdapter ------------------------------------------------------------------------

    def bind(self, capability: BrokerCapability, listener: BrokerListener | None) -> None:
        """Accept ``capability`` as the only key; deliver the update history to ``listener``."""
        if self._capability is not None:
            raise BrokerAccessError("this paper broker is already bound to a gateway")
        if not isinstance(capability, BrokerCapability):
            raise BrokerAccessError(f"{type(capability).__name__} is not a broker capability")
        self._capability = capability
        self._listener = listener
        if listener is not None:
            for update in _announceable(self._history):
                listener(update)

    def submit(
        self, capability: BrokerCapability, intent: OrderIntent, bracket: Bracket | None = None
    ) -> Order:
        """Journal, then accept (or reject) an order; a known client_order_id is returned as is."""
        self._authorize(capability)
        now = self._clock()
        reject = FAULT_REJECT if self._faults.reject_submits else None
        self._journal.append(
            "SUBMIT",
            now,
            {
                "intent": intent.model_dump(mode="json"),
                "bracket": _bracket_json(bracket),
                "reject": reject,
            },
        )
        return self._apply_submit(intent, bracket, reject, now)

    def cancel(self, capability: BrokerCapability, client_order_id: str) -> Order:
        """Journal, then cancel."""
        self._authorize(capability)
        now = self._clock()
        self._journal.append("CANCEL", now, {"client_order_id": client_order_id})
        return self._apply_cancel(client_order_id, now)

    def replace(
        self, capability: BrokerCapability, client_order_id: str, replacement: OrderIntent
    ) -> Order:
        """Journal, then replace."""
        self._authorize(capability)
        now = self._clock()
        self._journal.append(
            "REPLACE",
            now,
            {
                "client_order_id": client_order_id,
                "replacement": replacement.model_dump(mode="json"),
            },
        )
        return self._apply_replace(client_order_id, replacement, now)

    def snapshot(self) -> BrokerSnapshot:
        """Orders (injected rejects and external orders included), fills, positions, account."""
        snapshot = self._sim.snapshot()
        if not self._rejected and not self._external:
            return snapshot
        orders = (*snapshot.orders, *self._rejected.values(), *self._external.values())
        return snapshot.model_copy(update={"orders": orders})

    def place_external(self, order: Order) -> None:
        """Simulate an order placed in this account outside the engine (another process using
        the same keys, an operator on the broker's website): journaled, listed in snapshots,
        never reported to the gateway. Reconciliation must catch it."""
        self._journal.append("EXTERNAL", self._clock(), {"order": order.model_dump(mode="json")})
        self._external[order.client_order_id] = order

    # -- market data --------------------------------------------------------------------------

    def on_bar(self, bar: Bar) -> tuple[Fill, ...]:
        """Trade resting orders against ``bar``; a bar already processed returns no fills."""
        last = self._last_bar.get(bar.symbol)
        if last is not None and bar.ts_close_utc <= last:
            return _NO_FILLS
        self._journal.append("BAR", bar.ts_close_utc, bar.model_dump(mode="json"))
        self._failpoints.hit("after_bar_journal")
        return self._apply_bar(bar)

    # -- applying (live and replay) -----------------------------------------------------------

    def _apply_submit(
        self, intent: OrderIntent, bracket: Bracket | None, reject: str | None, at: datetime
    ) -> Order:
        self._submits.append(intent.client_order_id)
        known = self._rejected.get(intent.client_order_id)
        if known is not None:
            return known
        if reject is not None and not self._sim_knows(intent.client_order_id):
            order = Order(
                client_order_id=intent.client_order_id,
                engine_id=intent.engine_id,
                symbol=intent.symbol,
                side=intent.side,
                quantity=intent.quantity,
                order_type=intent.order_type,
                limit_price=intent.limit_price,
                stop_price=intent.stop_price,
                time_in_force=intent.time_in_force,
                status=OrderStatus.REJECTED,
                created_at=at,
                updated_at=at,
            )
            self._rejected[order.client_order_id] = order
            self._on_sim_update(BrokerUpdate(order=order, reason=reject))
            return order
        with self._at(at):
            return self._sim.submit(self._key, intent, bracket)

    def _apply_cancel(self, client_order_id: str, at: datetime) -> Order:
        known = self._rejected.get(client_order_id)
        if known is not None:
            return known
        with self._at(at):
            return self._sim.cancel(self._key, client_order_id)

    def _apply_replace(self, client_order_id: str, replacement: OrderIntent, at: datetime) -> Order:
        with self._at(at):
            return self._sim.replace(self._key, client_order_id, replacement)

    def _apply_bar(self, bar: Bar) -> tuple[Fill, ...]:
        self._last_bar[bar.symbol] = bar.ts_close_utc
        batching = self._faults.reverse_fill_batches and self._listener is not None
        if batching:
            self._batch = []
        try:
            with self._at(bar.ts_close_utc):
                fills = self._sim.on_bar(bar)
        finally:
            batch, self._batch = self._batch, None
        if batch:
            for update in _reversed_fills(batch):
                self._deliver(update)
        return fills

    def _replay(self, entries: Iterable[JournalEntry]) -> None:
        for entry in entries:
            payload = entry.payload
            try:
                if entry.kind == "SUBMIT":
                    intent = OrderIntent.model_validate(payload["intent"])
                    bracket = _bracket_from(payload["bracket"])
                    self._apply_submit(intent, bracket, payload["reject"], entry.ts_utc)
                elif entry.kind == "CANCEL":
                    self._apply_cancel(payload["client_order_id"], entry.ts_utc)
                elif entry.kind == "REPLACE":
                    replacement = OrderIntent.model_validate(payload["replacement"])
                    self._apply_replace(payload["client_order_id"], replacement, entry.ts_utc)
                elif entry.kind == "EXTERNAL":
                    order = Order.model_validate(payload["order"])
                    self._external[order.client_order_id] = order
                elif entry.kind == "BAR":
                    self._apply_bar(Bar.model_validate(payload))
                else:
                    raise PaperJournalError(f"journal entry {entry.seq}: unknown kind {entry.kind}")
            except (ExecutionError, SchemaError, ValueError, KeyError) as error:
                raise PaperJournalError(
                    f"paper journal of run {self._journal.run_id}, entry {entry.seq} "
                    f"({entry.kind}) cannot be replayed: {error}",
                    {"run_id": str(self._journal.run_id), "seq": entry.seq},
                ) from error

    # -- updates ------------------------------------------------------------------------------

    def _on_sim_update(self, update: BrokerUpdate) -> None:
        self._history.append(update)
        if self._listener is None:
            return
        if self._batch is not None:
            self._batch.append(update)
        else:
            self._deliver(update)

    def _deliver(self, update: BrokerUpdate) -> None:
        listener = self._listener
        if listener is None:
            return
        listener(update)
        if update.fill is not None and self._faults.duplicate_fills:
            listener(update)

    # -- helpers ------------------------------------------------------------------------------

    def _sim_now(self) -> datetime:
        return self._applying_at if self._applying_at is not None else self._clock()

    def _at(self, ts: datetime) -> _Stamp:
        return _Stamp(self, ts)

    def _sim_knows(self, client_order_id: str) -> bool:
        return any(o.client_order_id == client_order_id for o in self._sim_orders())

    def _sim_orders(self) -> tuple[Order, ...]:
        return self._sim.snapshot().orders

    def _authorize(self, capability: object) -> None:
        if self._capability is None:
            raise BrokerAccessError("this paper broker is not bound to a gateway; nothing trades")
        if capability is not self._capability:
            raise BrokerAccessError(
                "refused: only the execution gateway this broker is bound to may trade"
            )


class _Stamp:
    """Context manager: the SimBroker's clock reads ``ts`` while a journaled input applies."""

    def __init__(self, broker: PaperBroker, ts: datetime) -> None:
        self._broker = broker
        self._ts = ts

    def __enter__(self) -> None:
        self._broker._applying_at = self._ts

    def __exit__(self, *_exc: object) -> None:
        self._broker._applying_at = None


def _announceable(history: list[BrokerUpdate]) -> list[BrokerUpdate]:
    """The history as a listener that never saw the orders can take it: an order whose first
    update is already closed (rejected on submit) is first announced as SUBMITTED."""
    seen: set[str] = set()
    out: list[BrokerUpdate] = []
    for update in history:
        coid = update.order.client_order_id
        if coid not in seen:
            seen.add(coid)
            if update.fill is None and update.order.status not in (
                OrderStatus.SUBMITTED,
                OrderStatus.NEW,
            ):
                accepted = update.order.model_copy(update={"status": OrderStatus.SUBMITTED})
                out.append(BrokerUpdate(order=accepted, protective=update.protective))
        out.append(update)
    return out


def _reversed_fills(batch: list[BrokerUpdate]) -> list[BrokerUpdate]:
    """New orders first, then the fills in reverse order, then the other changes."""
    opened = [u for u in batch if u.fill is None and u.order.status is OrderStatus.SUBMITTED]
    fills = [u for u in batch if u.fill is not None]
    rest = [u for u in batch if u.fill is None and u.order.status is not OrderStatus.SUBMITTED]
    return [*opened, *reversed(fills), *rest]
