"""Re-arming an engine for a run that resumes after a restart.

A restart always comes back disarmed (the engine's arm switch is set to DISARMED before
anything else happens). mqk-db's ``arm_run`` only arms a CREATED run, so a resumed ARMED or
RUNNING run is re-armed here, after the same preflight checks as arming (mqk-db's
``evaluate_arming``: limits, pinned config hash, kill switches; LIVE also a fresh CLEAN
reconcile and the typed phrase) and only once recovery ended with a CLEAN reconcile. The arm
switch row is written in one transaction that holds the run row locked.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from mqk_db import (
    ArmingInputs,
    ArmStateRow,
    PreflightFailed,
    RunRecord,
    RunRow,
    append_audit_event,
    latest_reconcile,
)
from mqk_db import evaluate_arming as db_evaluate_arming
from mqk_runtime.errors import ResumeRefusedError
from mqk_schemas import RunStatus, Topic, to_utc

__all__ = ["rearm_run"]

_RESUMABLE = (RunStatus.ARMED.value, RunStatus.RUNNING.value)


def rearm_run(
    db: Engine,
    run_id: uuid.UUID,
    inputs: ArmingInputs,
    *,
    confirmation: str | None,
    now: datetime,
) -> RunRecord:
    """Arm the engine again for resumed ``run_id`` (ARMED or RUNNING) after the preflight.

    Raises :class:`~mqk_db.PreflightFailed` listing every failed check, and
    :class:`ResumeRefusedError` when the run is no longer ARMED or RUNNING.
    """
    ts = to_utc(now)
    checkpoint = latest_reconcile(db, inputs_engine(db, run_id))
    with Session(db) as session, session.begin():
        row = session.get(RunRow, run_id, with_for_update=True, populate_existing=True)
        if row is None or row.status not in _RESUMABLE:
            status = row.status if row is not None else "missing"
            raise ResumeRefusedError(
                f"run {run_id} is {status}; only an ARMED or RUNNING run is re-armed",
                {"run_id": str(run_id), "status": status},
            )
        record = RunRecord.from_row(row)
        failures = db_evaluate_arming(
            record,
            inputs,
            confirmation=confirmation,
            latest_reconcile=checkpoint,
            now=ts,
        )
        if failures:
            raise PreflightFailed(run_id, "re-arming", failures)
        arm = session.get(ArmStateRow, row.engine_id, with_for_update=True)
        reason = f"re-armed run {run_id} after restart recovery"
        if arm is None:
            session.add(
                ArmStateRow(
                    engine_id=row.engine_id,
                    state="ARMED",
                    run_id=run_id,
                    reason=reason,
                    updated_at=ts,
                )
            )
        else:
            arm.state, arm.run_id, arm.reason, arm.updated_at = "ARMED", run_id, reason, ts
    append_audit_event(
        db,
        run_id,
        Topic.RUNTIME,
        "RUN_REARMED",
        {"engine_id": record.engine_id, "status": record.status.value, "reason": reason},
        now=ts,
    )
    return record


def inputs_engine(db: Engine, run_id: uuid.UUID) -> str:
    """The engine of ``run_id`` (read before the locking transaction)."""
    with Session(db) as session, session.begin():
        row = session.get(RunRow, run_id)
        if row is None:
            raise ResumeRefusedError(f"run {run_id} does not exist", {"run_id": str(run_id)})
        return row.engine_id
