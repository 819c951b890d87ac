"""BACKTEST runs are recorded without arming, and only they may skip it (both backends)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, bindparam, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.types import Uuid

from mqk_db import (
    DbInputError,
    arm_run,
    audit_events,
    get_arm_state,
    halt_run,
    start_backtest_run,
    stop_run,
    verify_run_audit,
)
from mqk_schemas import RunMode, RunStatus

Kit = Any


def scenario_backtest_run_goes_created_running_stopped_without_touching_the_arm(
    db: Engine, kit: Kit
) -> None:
    kit.reconcile(db)
    live = kit.new_run(db)
    arm_run(db, live.run_id, kit.inputs(), confirmation=kit.PHRASE, now=kit.T0)
    arm_before = get_arm_state(db, "MAIN")

    run = start_backtest_run(db, kit.spec(RunMode.BACKTEST), now=kit.T0 + timedelta(seconds=1))
    assert (run.mode, run.status) == (RunMode.BACKTEST, RunStatus.RUNNING)
    stopped = stop_run(db, run.run_id, now=kit.T0 + timedelta(seconds=2))

    assert stopped.status is RunStatus.STOPPED
    assert get_arm_state(db, "MAIN") == arm_before  # the live run is still armed
    assert [e.event_type for e in audit_events(db, run.run_id)] == [
        "RUN_CREATED",
        "RUN_STARTED",
        "RUN_STOPPED",
    ]
    assert verify_run_audit(db, run.run_id).ok


def scenario_a_halted_backtest_is_recorded_halted_then_stopped(db: Engine, kit: Kit) -> None:
    run = start_backtest_run(db, kit.spec(RunMode.BACKTEST), now=kit.T0)
    halted = halt_run(db, run.run_id, "KILL_SWITCH_MAX_DRAWDOWN", now=kit.T0)
    assert (halted.status, halted.halt_reason) == (RunStatus.HALTED, "KILL_SWITCH_MAX_DRAWDOWN")
    assert stop_run(db, run.run_id, now=kit.T0).status is RunStatus.STOPPED


@pytest.mark.parametrize("mode", [RunMode.PAPER, RunMode.LIVE])
def unit_only_backtest_runs_start_without_arming(db: Engine, kit: Kit, mode: RunMode) -> None:
    with pytest.raises(DbInputError, match="records BACKTEST runs"):
        start_backtest_run(db, kit.spec(mode), now=kit.T0)


@pytest.mark.parametrize(
    ("mode", "allowed"), [("BACKTEST", True), ("PAPER", False), ("LIVE", False)]
)
def invariant_raw_created_to_running_is_legal_only_for_backtests(
    db: Engine, kit: Kit, mode: str, allowed: bool
) -> None:
    run = kit.new_run(db, RunMode(mode))
    statement = text("UPDATE runs SET status = 'RUNNING' WHERE run_id = :rid").bindparams(
        bindparam("rid", type_=Uuid())
    )
    if allowed:
        with db.begin() as connection:
            connection.execute(statement, {"rid": run.run_id})
        return
    with pytest.raises(DBAPIError, match="MQK_ILLEGAL_TRANSITION"), db.begin() as connection:
        connection.execute(statement, {"rid": run.run_id})
