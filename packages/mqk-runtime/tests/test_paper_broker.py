"""PaperBroker: journaled inputs, exact rebuild on reopen, idempotent submits, injected faults."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal

import pytest
from runtime_support import feed, unknown_order
from sqlalchemy import Engine, update

from mqk_execution import BrokerAccessError, BrokerCapability, BrokerUpdate, ExecutionSettings
from mqk_runtime import (
    FAULT_REJECT,
    BrokerFaults,
    PaperBroker,
    PaperJournal,
    PaperJournalError,
    ReplayClock,
)
from mqk_runtime._tables import PAPER_JOURNAL
from mqk_schemas import Bar, OrderIntent, OrderStatus, Side, client_order_id

RUN = uuid.UUID("00000000-0000-4000-8000-000000000001")
SETTINGS = ExecutionSettings(
    spread_bps=Decimal(2),
    slippage_bps=Decimal(5),
    slippage_cap_bps=Decimal(50),
    commission_per_share=Decimal("0.005"),
    commission_minimum=Decimal(1),
)


class Desk:
    """A paper broker on one run's journal, with a capability and a recorded update stream."""

    def __init__(self, db: Engine, faults: BrokerFaults | None = None) -> None:
        self.db = db
        self.faults = faults
        self.bars: tuple[Bar, ...] = feed(bars=12).bars
        self.clock = ReplayClock(self.bars[0].ts_close_utc)
        self.updates: list[BrokerUpdate] = []
        self.key = BrokerCapability()
        self.broker = self.open()

    def open(self) -> PaperBroker:
        broker = PaperBroker(
            SETTINGS,
            journal=PaperJournal(self.db, RUN),
            clock=self.clock,
            account_id="PA-0000-1234",
            starting_cash=Decimal(100000),
            faults=self.faults,
        )
        self.updates = []
        self.key = BrokerCapability()
        broker.bind(self.key, self.updates.append)
        return broker

    def intent(self, seq: int, side: Side = Side.BUY, qty: int = 10) -> OrderIntent:
        return OrderIntent(
            engine_id="MAIN",
            intent_seq=seq,
            client_order_id=client_order_id("MAIN", RUN, seq),
            symbol="AAPL",
            side=side,
            quantity=Decimal(qty),
        )

    def bar(self, index: int) -> Bar:
        self.clock.wait_until(self.bars[index].ts_close_utc)
        bar = self.bars[index]
        self.broker.on_bar(bar)
        return bar


@pytest.fixture
def desk(sqlite_db: Engine) -> Iterator[Desk]:
    return Desk(sqlite_db)


def _trade(desk: Desk) -> None:
    desk.bar(0)
    desk.broker.submit(desk.key, desk.intent(0))
    desk.bar(1)
    desk.broker.submit(desk.key, desk.intent(1, Side.SELL, 4))
    desk.broker.submit(desk.key, desk.intent(2))
    desk.broker.cancel(desk.key, client_order_id("MAIN", RUN, 2))
    desk.bar(2)
    desk.bar(3)


def contract_reopening_replays_the_journal_into_the_same_broker(desk: Desk) -> None:
    _trade(desk)
    before = desk.broker.snapshot()
    stream = [(u.order, u.fill, u.reason) for u in desk.updates]
    desk.broker = desk.open()
    after = desk.broker.snapshot()
    assert after == before
    assert [(u.order, u.fill, u.reason) for u in desk.updates] == stream
    assert [f.quantity for f in after.fills] == [Decimal(10), Decimal(4)]
    assert after.positions[0].quantity == Decimal(6)


def contract_a_known_client_order_id_creates_nothing_but_is_recorded(desk: Desk) -> None:
    desk.bar(0)
    first = desk.broker.submit(desk.key, desk.intent(0))
    again = desk.broker.submit(desk.key, desk.intent(0))
    assert again == first
    assert len(desk.broker.snapshot().orders) == 1
    assert desk.broker.submits == (first.client_order_id, first.client_order_id)


def contract_a_bar_already_traded_is_not_traded_again(desk: Desk) -> None:
    desk.bar(0)
    desk.broker.submit(desk.key, desk.intent(0))
    bar = desk.bar(1)
    assert len(desk.broker.snapshot().fills) == 1
    assert desk.broker.on_bar(bar) == ()
    desk.broker = desk.open()
    assert desk.broker.on_bar(bar) == ()
    kinds = [e.kind for e in PaperJournal(desk.db, RUN).entries()]
    assert kinds == ["BAR", "SUBMIT", "BAR"]


def contract_only_the_bound_capability_trades(desk: Desk) -> None:
    with pytest.raises(BrokerAccessError, match="only the execution gateway"):
        desk.broker.submit(BrokerCapability(), desk.intent(0))
    with pytest.raises(BrokerAccessError, match="already bound"):
        desk.broker.bind(BrokerCapability(), None)
    assert PaperJournal(desk.db, RUN).entries() == []


def contract_binding_delivers_the_history_a_fresh_oms_can_take(sqlite_db: Engine) -> None:
    desk = Desk(sqlite_db, BrokerFaults(reject_submits=True))
    desk.bar(0)
    rejected = desk.broker.submit(desk.key, desk.intent(0))
    assert rejected.status is OrderStatus.REJECTED
    desk.broker = desk.open()
    assert [u.order.status for u in desk.updates] == [OrderStatus.SUBMITTED, OrderStatus.REJECTED]
    assert desk.updates[1].reason == FAULT_REJECT
    assert desk.broker.snapshot().orders == (rejected,)


def unit_duplicate_fill_fault_delivers_every_fill_twice(sqlite_db: Engine) -> None:
    desk = Desk(sqlite_db, BrokerFaults(duplicate_fills=True))
    desk.bar(0)
    desk.broker.submit(desk.key, desk.intent(0))
    desk.bar(1)
    fills = [u.fill for u in desk.updates if u.fill is not None]
    assert len(fills) == 2
    assert fills[0] == fills[1]
    assert len(desk.broker.snapshot().fills) == 1


def unit_reverse_fault_delivers_one_bars_fills_in_reverse_order(sqlite_db: Engine) -> None:
    desk = Desk(sqlite_db, BrokerFaults(reverse_fill_batches=True))
    desk.bar(0)
    desk.broker.submit(desk.key, desk.intent(0))
    desk.broker.submit(desk.key, desk.intent(1))
    desk.bar(1)
    delivered = [u.fill.client_order_id for u in desk.updates if u.fill is not None]
    made = [f.client_order_id for f in desk.broker.snapshot().fills]
    assert delivered == list(reversed(made))
    assert len(made) == 2


def unit_external_orders_show_only_in_snapshots_and_survive_reopening(desk: Desk) -> None:
    desk.bar(0)
    at: datetime = desk.clock.now()
    outsider = unknown_order(RUN, at=at)
    desk.broker.place_external(outsider)
    assert desk.updates == []
    assert desk.broker.snapshot().orders == (outsider,)
    desk.broker = desk.open()
    assert desk.broker.snapshot().orders == (outsider,)


def unit_a_journal_that_cannot_be_replayed_is_refused(desk: Desk) -> None:
    desk.bar(0)
    desk.broker.submit(desk.key, desk.intent(0))
    with desk.db.begin() as connection:
        connection.execute(
            update(PAPER_JOURNAL).where(PAPER_JOURNAL.c.seq == 2).values(payload_json="{}")
        )
    with pytest.raises(PaperJournalError, match="entry 2 \\(SUBMIT\\) cannot be replayed"):
        desk.open()
