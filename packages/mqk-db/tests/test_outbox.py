"""Outbox and inbox: an order is written once per key, a broker message applied once."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine

from mqk_db import (
    IllegalTransition,
    OutboxError,
    arm_run,
    enqueue_order,
    inbox_messages,
    mark_inbox_applied,
    outbox_entries,
    receive_broker_message,
    update_outbox_status,
)
from mqk_schemas import RunMode

Kit = Any

ORDER = {"symbol": "AAPL", "side": "BUY", "quantity": Decimal("10"), "limit": Decimal("187.25")}


def _armed_paper_run(db: Engine, kit: Kit) -> Any:
    run = kit.new_run(db, RunMode.PAPER)
    return arm_run(db, run.run_id, kit.inputs(), now=kit.T0)


def scenario_reenqueue_with_same_key_returns_the_first_entry(db: Engine, kit: Kit) -> None:
    run = _armed_paper_run(db, kit)
    first, created = enqueue_order(
        db, run_id=run.run_id, idempotency_key="MAIN_abc_00000001", payload=ORDER, now=kit.T0
    )
    again, created_again = enqueue_order(
        db,
        run_id=run.run_id,
        idempotency_key="MAIN_abc_00000001",
        payload=ORDER,
        now=kit.T0 + timedelta(seconds=5),
    )
    assert (created, created_again) == (True, False)
    assert again == first
    assert first.payload == ORDER
    assert isinstance(first.payload["limit"], Decimal)
    assert [e.idempotency_key for e in outbox_entries(db, run.run_id)] == ["MAIN_abc_00000001"]


def fault_same_key_with_a_different_order_is_refused(db: Engine, kit: Kit) -> None:
    run = _armed_paper_run(db, kit)
    enqueue_order(db, run_id=run.run_id, idempotency_key="MAIN_k", payload=ORDER, now=kit.T0)
    with pytest.raises(OutboxError):
        enqueue_order(
            db,
            run_id=run.run_id,
            idempotency_key="MAIN_k",
            payload={**ORDER, "quantity": Decimal("11")},
            now=kit.T0,
        )


def scenario_orders_are_only_written_for_an_armed_or_running_run(db: Engine, kit: Kit) -> None:
    run = kit.new_run(db, RunMode.PAPER)
    with pytest.raises(IllegalTransition):
        enqueue_order(db, run_id=run.run_id, idempotency_key="MAIN_k", payload=ORDER, now=kit.T0)
    assert outbox_entries(db, run.run_id) == []


@pytest.mark.parametrize(
    ("walk", "final"),
    [
        (["SENT", "ACKED"], "ACKED"),
        (["SENT", "FAILED"], "FAILED"),
        (["SENT", "AMBIGUOUS", "ACKED"], "ACKED"),
        (["SENT", "AMBIGUOUS", "FAILED"], "FAILED"),
    ],
)
def unit_outbox_legal_walks_reach_their_end(
    db: Engine, kit: Kit, walk: list[str], final: str
) -> None:
    run = _armed_paper_run(db, kit)
    enqueue_order(db, run_id=run.run_id, idempotency_key="MAIN_k", payload=ORDER, now=kit.T0)
    entry = None
    for status in walk:
        entry = update_outbox_status(db, "MAIN_k", status, now=kit.T0, broker_order_id="B-1")
    assert entry is not None
    assert (entry.status, entry.broker_order_id) == (final, "B-1")
    with pytest.raises(OutboxError):
        update_outbox_status(db, "MAIN_k", "SENT", now=kit.T0)


@pytest.mark.parametrize("status", ["ACKED", "FAILED", "AMBIGUOUS", "PENDING"])
def unit_pending_entry_can_only_be_sent(db: Engine, kit: Kit, status: str) -> None:
    run = _armed_paper_run(db, kit)
    enqueue_order(db, run_id=run.run_id, idempotency_key="MAIN_k", payload=ORDER, now=kit.T0)
    with pytest.raises(OutboxError) as refused:
        update_outbox_status(db, "MAIN_k", status, now=kit.T0)
    assert refused.value.evidence == {"key": "MAIN_k", "from": "PENDING", "to": status}


def scenario_a_replayed_broker_message_is_stored_and_applied_once(db: Engine, kit: Kit) -> None:
    run = _armed_paper_run(db, kit)
    fill = {"fill_id": "F1", "quantity": Decimal("10"), "price": Decimal("187.25")}
    first, created = receive_broker_message(
        db, run_id=run.run_id, broker_message_id="fill-F1", payload=fill, now=kit.T0
    )
    replay, created_again = receive_broker_message(
        db, run_id=run.run_id, broker_message_id="fill-F1", payload=fill, now=kit.T0
    )
    assert (created, created_again) == (True, False)
    assert replay.id == first.id
    assert [m.broker_message_id for m in inbox_messages(db, run.run_id, applied=False)] == [
        "fill-F1"
    ]
    assert mark_inbox_applied(db, "fill-F1", now=kit.T0) is True
    assert mark_inbox_applied(db, "fill-F1", now=kit.T0) is False
    assert inbox_messages(db, run.run_id, applied=False) == []
    applied = inbox_messages(db, run.run_id, applied=True)
    assert [(m.applied, m.applied_at) for m in applied] == [(True, kit.T0)]
