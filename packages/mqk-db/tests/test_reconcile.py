"""Reconcile checkpoints are per engine and monotonic; the arm switch records why."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine

from mqk_db import (
    DbInputError,
    OutOfOrderSnapshotError,
    disarm_engine,
    get_arm_state,
    latest_reconcile,
    record_reconcile,
)

Kit = Any


def scenario_latest_checkpoint_is_the_newest_snapshot_of_that_engine(db: Engine, kit: Kit) -> None:
    kit.reconcile(db, "MAIN", kit.T0, "CLEAN")
    record_reconcile(
        db,
        engine_id="MAIN",
        captured_at=kit.T0 + timedelta(seconds=60),
        result="WARN",
        diff_summary={"position_mismatch": 1, "qty": Decimal("0.5")},
        now=kit.T0 + timedelta(seconds=61),
    )
    kit.reconcile(db, "EXP", kit.T0 + timedelta(seconds=120), "CLEAN")
    latest = latest_reconcile(db, "MAIN")
    assert latest is not None
    assert (latest.result, latest.captured_at) == ("WARN", kit.T0 + timedelta(seconds=60))
    assert latest.diff_summary == {"position_mismatch": 1, "qty": Decimal("0.5")}
    assert latest_reconcile(db, "NONE") is None


def fault_older_snapshot_than_the_latest_is_refused(db: Engine, kit: Kit) -> None:
    kit.reconcile(db, at=kit.T0)
    with pytest.raises(OutOfOrderSnapshotError):
        kit.reconcile(db, at=kit.T0 - timedelta(seconds=1))
    latest = latest_reconcile(db, "MAIN")
    assert latest is not None
    assert latest.captured_at == kit.T0


@pytest.mark.parametrize(
    ("engine_id", "result"), [("MAIN", "DIRTY"), ("main", "CLEAN"), ("", "CLEAN")]
)
def unit_bad_checkpoint_input_is_refused(db: Engine, kit: Kit, engine_id: str, result: str) -> None:
    with pytest.raises(DbInputError):
        record_reconcile(
            db, engine_id=engine_id, captured_at=kit.T0, result=result, diff_summary={}, now=kit.T0
        )


def unit_disarm_records_the_reason(db: Engine, kit: Kit) -> None:
    state = disarm_engine(db, "MAIN", "restart: boot disarmed", now=kit.T0)
    assert (state.state, state.reason, state.armed) == ("DISARMED", "restart: boot disarmed", False)
    assert get_arm_state(db, "MAIN") == state
