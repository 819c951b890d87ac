"""The engine's internal state as stored (for ``reconcile check``) and the engine check."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from runtime_support import Harness, config, feed
from sqlalchemy import Engine

from mqk_reconcile import ReconcileConfig
from mqk_runtime import Failpoints, check_engine, load_internal_state
from mqk_schemas import Account, BrokerSnapshot, OrderStatus

CONFIG = ReconcileConfig(require_protective_stop=False)


class Crash(BaseException):
    """A failpoint's "death"."""


def _die(name: str) -> None:
    raise Crash(name)


def unit_an_engine_without_runs_is_flat_with_no_orders(sqlite_db: Engine) -> None:
    stored = load_internal_state(sqlite_db, "MAIN")
    assert stored.run is None
    assert (stored.internal.positions, stored.internal.orders, stored.internal.fills) == (
        {},
        (),
        (),
    )


def unit_stored_state_follows_applied_fills_and_the_outbox(sqlite_db: Engine) -> None:
    harness = Harness(
        sqlite_db,
        config(),
        feed(bars=40),
        failpoints=Failpoints({"after_outbox_commit": 3}, action=_die),
    )
    runtime = harness.start()
    with pytest.raises(Crash):
        runtime.run_feed()
    stored = load_internal_state(sqlite_db, "MAIN")
    assert stored.run is not None
    assert stored.run.run_id == runtime.run_id
    statuses = [o.status for o in stored.internal.orders]
    assert statuses == [OrderStatus.FILLED, OrderStatus.FILLED, OrderStatus.NEW]
    assert stored.internal.positions == {}
    assert len(stored.internal.fills) == 2


def _snapshot(harness: Harness, minutes: int) -> BrokerSnapshot:
    truth = harness.broker.snapshot()
    return truth.model_copy(update={"captured_at": truth.captured_at + timedelta(minutes=minutes)})


def unit_check_engine_records_clean_and_refuses_going_back_in_time(sqlite_db: Engine) -> None:
    harness = Harness(sqlite_db, config(), feed(bars=30))
    runtime = harness.start()
    runtime.run_feed()
    runtime.stop()
    now = harness.clock.now()
    later = _snapshot(harness, 10)
    checked = check_engine(sqlite_db, "MAIN", later, config=CONFIG, now=now)
    assert checked.result is not None
    assert checked.result.clean
    assert checked.checkpoint is not None
    assert checked.checkpoint.diff_summary["snapshot_sha256"] == checked.result.snapshot_sha256
    again = check_engine(sqlite_db, "MAIN", later, config=CONFIG, now=now)
    assert again.result is not None
    assert again.refusal is None
    cash = Decimal(1)
    other = later.model_copy(
        update={"account": Account(account_id="X", cash=cash, equity=cash, buying_power=cash)}
    )
    refused = check_engine(sqlite_db, "MAIN", other, config=CONFIG, now=now)
    assert refused.refusal is not None
    assert refused.refusal.reason_code == "SNAPSHOT_NOT_MONOTONIC"
    older = check_engine(sqlite_db, "MAIN", _snapshot(harness, 5), config=CONFIG, now=now)
    assert older.refusal is not None
    assert older.checkpoint is None
