"""The durable layer: outbox committed before the broker call, inbox applying each fill once."""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal

import pytest
from runtime_support import Harness, config, feed
from sqlalchemy import Engine

from mqk_execution import BrokerCapability, BrokerListener
from mqk_portfolio import EngineLedger
from mqk_runtime import DurableBroker, RunStore
from mqk_schemas import Decision, Fill, Order, OrderIntent, OrderStatus, Side, client_order_id


class SpyBroker:
    """Records the outbox status of each order at the moment the broker receives it."""

    def __init__(self, store: RunStore, reject: bool = False) -> None:
        self.store = store
        self.reject = reject
        self.seen: list[str] = []
        self.listener: BrokerListener | None = None

    def bind(self, capability: BrokerCapability, listener: BrokerListener | None) -> None:
        self.listener = listener

    def submit(
        self, capability: BrokerCapability, intent: OrderIntent, bracket: object = None
    ) -> Order:
        self.seen.append(self.store.outbox_entry(intent.client_order_id).status)
        now = intent_time()
        return Order(
            client_order_id=intent.client_order_id,
            engine_id=intent.engine_id,
            symbol=intent.symbol,
            side=intent.side,
            quantity=intent.quantity,
            order_type=intent.order_type,
            status=OrderStatus.REJECTED if self.reject else OrderStatus.SUBMITTED,
            broker_order_id="B-1",
            created_at=now,
            updated_at=now,
        )

    def cancel(self, capability: BrokerCapability, client_order_id: str) -> Order:
        raise AssertionError("not used")

    def replace(self, capability: BrokerCapability, client_order_id: str, r: object) -> Order:
        raise AssertionError("not used")

    def snapshot(self) -> object:
        raise AssertionError("not used")


def intent_time() -> object:
    return feed(bars=1).bars[0].ts_close_utc


class Layer:
    """A durable layer over a spy broker, on a run that is RUNNING."""

    def __init__(self, db: Engine, reject: bool = False) -> None:
        harness = Harness(db, config(), feed(bars=5))
        runtime = harness.start()
        self.run_id = runtime.run_id
        self.clock = harness.clock
        self.store = RunStore(db, self.run_id, "MAIN")
        self.spy = SpyBroker(self.store, reject)
        self.ledger = EngineLedger("MAIN", Decimal(100000))
        self.conflicts: list[Decision] = []
        self.applied: list[str] = []
        self.layer = DurableBroker(
            self.spy,  # type: ignore[arg-type]
            self.store,
            clock=self.clock.now,
            on_fill=self._apply,
            on_conflict=self.conflicts.append,
        )
        self.key = BrokerCapability()
        self.layer.bind(self.key, None)

    def _apply(self, fill: Fill) -> None:
        self.applied.append(fill.broker_fill_id)
        self.ledger.apply(fill)

    def intent(self, seq: int) -> OrderIntent:
        return OrderIntent(
            engine_id="MAIN",
            intent_seq=seq,
            client_order_id=client_order_id("MAIN", self.run_id, seq),
            symbol="AAPL",
            side=Side.BUY,
            quantity=Decimal(10),
        )

    def fill(self, n: int, *, qty: int = 10, price: str = "100") -> Fill:
        return Fill(
            broker_fill_id=f"{client_order_id('MAIN', self.run_id, 0)}-F{n}",
            client_order_id=client_order_id("MAIN", self.run_id, 0),
            engine_id="MAIN",
            symbol="AAPL",
            side=Side.BUY if n % 2 else Side.SELL,
            quantity=Decimal(qty),
            price=Decimal(price) + n,
            fee=Decimal(1),
            ts_utc=self.clock.now() + timedelta(minutes=n),
        )


def invariant_the_outbox_entry_is_committed_before_the_broker_is_called(
    sqlite_db: Engine,
) -> None:
    layer = Layer(sqlite_db)
    order = layer.layer.submit(layer.key, layer.intent(0))
    assert layer.spy.seen == ["SENT"]
    entry = layer.store.outbox_entry(order.client_order_id)
    assert (entry.status, entry.broker_order_id) == ("ACKED", "B-1")


def unit_a_broker_reject_fails_the_outbox_entry(sqlite_db: Engine) -> None:
    layer = Layer(sqlite_db, reject=True)
    order = layer.layer.submit(layer.key, layer.intent(0))
    entry = layer.store.outbox_entry(order.client_order_id)
    assert (entry.status, entry.last_error) == ("FAILED", "REJECTED")


def unit_a_retry_reuses_the_outbox_entry(sqlite_db: Engine) -> None:
    layer = Layer(sqlite_db)
    layer.layer.submit(layer.key, layer.intent(0))
    layer.layer.submit(layer.key, layer.intent(0))
    assert [e.status for e in layer.store.outbox()] == ["ACKED"]
    assert layer.spy.seen == ["SENT", "ACKED"]


@pytest.mark.parametrize("order", list(itertools.permutations([1, 2, 3])))
def invariant_duplicate_and_reordered_fills_are_applied_exactly_once(
    sqlite_db: Engine, order: tuple[int, ...]
) -> None:
    layer = Layer(sqlite_db)
    fills = {n: layer.fill(n) for n in (1, 2, 3)}
    for n in (*order, *order, order[0]):
        layer.layer.ingest(fills[n])
    assert sorted(layer.applied) == sorted(f.broker_fill_id for f in fills.values())
    assert len(layer.store.fills(applied=True)) == 3
    reference = EngineLedger("MAIN", Decimal(100000))
    for n in order:
        reference.apply(fills[n])
    assert layer.ledger.snapshot() == reference.snapshot()


def fault_a_fill_received_but_not_applied_before_a_crash_is_applied_once_later(
    sqlite_db: Engine,
) -> None:
    layer = Layer(sqlite_db)
    fill = layer.fill(1)
    layer.store.receive_fill(fill, now=layer.clock.now())  # the crash came before the apply
    assert layer.store.fills(applied=True) == []
    assert layer.layer.ingest(fill) is True
    assert layer.layer.ingest(fill) is False
    assert layer.applied == [fill.broker_fill_id]


def fault_a_fill_id_reused_for_another_fill_is_a_conflict_not_a_fill(sqlite_db: Engine) -> None:
    layer = Layer(sqlite_db)
    fill = layer.fill(1)
    layer.layer.ingest(fill)
    forged = fill.model_copy(update={"quantity": Decimal(99)})
    assert layer.layer.ingest(forged) is False
    assert layer.applied == [fill.broker_fill_id]
    assert [d.reason_code for d in layer.conflicts] == ["FILL_ID_CONFLICT"]
    assert layer.ledger.position("AAPL") == Decimal(10)
