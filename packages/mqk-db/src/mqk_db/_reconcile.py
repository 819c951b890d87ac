"""Reconcile checkpoints (the evidence arming needs) and the per-engine arm switch."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from mqk_db._models import RECONCILE_RESULTS, ArmStateRow, ReconcileCheckpointRow, RunRow
from mqk_db._records import ArmState, ReconcileCheckpoint
from mqk_db.errors import DbInputError, OutOfOrderSnapshotError, RunNotFound
from mqk_schemas import ENGINE_ID_PATTERN, canonical_json, format_utc, to_utc

__all__ = [
    "disarm_engine",
    "get_arm_state",
    "latest_checkpoint_row",
    "latest_reconcile",
    "record_reconcile",
]

_ENGINE = re.compile(ENGINE_ID_PATTERN)


def record_reconcile(
    engine: Engine,
    *,
    engine_id: str,
    captured_at: datetime,
    result: str,
    diff_summary: Mapping[str, Any],
    now: datetime,
    run_id: uuid.UUID | None = None,
) -> ReconcileCheckpoint:
    """Store one reconcile outcome (CLEAN, WARN or CRITICAL) of a broker snapshot.

    Snapshots are monotonic per engine: one captured before the latest recorded one is refused
    with :class:`OutOfOrderSnapshotError`.
    """
    if not _ENGINE.match(engine_id):
        raise DbInputError(f"engine_id {engine_id!r} must match {ENGINE_ID_PATTERN}")
    if str(result) not in RECONCILE_RESULTS:
        raise DbInputError(
            f"reconcile result {result!r} must be one of {', '.join(RECONCILE_RESULTS)}",
            {"field": "result"},
        )
    captured = to_utc(captured_at)
    summary_json = canonical_json(dict(diff_summary))
    with Session(engine) as session, session.begin():
        if run_id is not None and session.get(RunRow, run_id) is None:
            raise RunNotFound(run_id)
        last = latest_checkpoint_row(session, engine_id)
        if last is not None and captured < last.captured_at:
            raise OutOfOrderSnapshotError(
                f"snapshot of engine {engine_id} captured at {format_utc(captured)} is older "
                f"than the latest recorded one ({format_utc(last.captured_at)})",
                {"engine_id": engine_id, "latest_captured_at": format_utc(last.captured_at)},
            )
        row = ReconcileCheckpointRow(
            engine_id=engine_id,
            run_id=run_id,
            captured_at=captured,
            recorded_at=to_utc(now),
            result=str(result),
            diff_summary_json=summary_json,
        )
        session.add(row)
        session.flush()
        return ReconcileCheckpoint.from_row(row)


def latest_reconcile(engine: Engine, engine_id: str) -> ReconcileCheckpoint | None:
    """The engine's most recent checkpoint by snapshot time (None if there is none)."""
    with Session(engine) as session, session.begin():
        row = latest_checkpoint_row(session, engine_id)
        return ReconcileCheckpoint.from_row(row) if row is not None else None


def get_arm_state(engine: Engine, engine_id: str) -> ArmState | None:
    """The engine's arm switch (None if the engine was never armed)."""
    with Session(engine) as session, session.begin():
        row = session.get(ArmStateRow, engine_id)
        return ArmState.from_row(row) if row is not None else None


def disarm_engine(engine: Engine, engine_id: str, reason: str, *, now: datetime) -> ArmState:
    """Disarm an engine (e.g. on restart or a CRITICAL reconcile): its armed run cannot start.

    The run keeps its status; halting it is a separate, explicit step.
    """
    reason = reason.strip()
    if not reason:
        raise DbInputError("disarming needs a non-empty reason", {"field": "reason"})
    ts = to_utc(now)
    with Session(engine) as session, session.begin():
        row = session.get(ArmStateRow, engine_id, with_for_update=True)
        if row is None:
            row = ArmStateRow(
                engine_id=engine_id, state="DISARMED", run_id=None, reason=reason, updated_at=ts
            )
            session.add(row)
        else:
            row.state, row.reason, row.updated_at = "DISARMED", reason, ts
        session.flush()
        return ArmState.from_row(row)


def latest_checkpoint_row(session: Session, engine_id: str) -> ReconcileCheckpointRow | None:
    """The engine's most recent checkpoint row inside ``session`` (by snapshot time)."""
    return session.scalars(
        select(ReconcileCheckpointRow)
        .where(ReconcileCheckpointRow.engine_id == engine_id)
        .order_by(ReconcileCheckpointRow.captured_at.desc(), ReconcileCheckpointRow.id.desc())
        .limit(1)
    ).first()
