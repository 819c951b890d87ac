"""Reconcile ticks: diff a broker snapshot against the engine's state and record a checkpoint.

Checkpoints go through mqk-db's monotonic guard (a snapshot captured before the engine's latest
checkpoint is refused). :func:`check_engine` adds mqk-reconcile's full policy, seeded from the
latest checkpoint (an equal capture time with different content is refused too); the runtime
uses :func:`reconcile_and_record`, because a resumed run legitimately reconciles twice at one
simulated instant (recovery, then the re-run of the interrupted bar).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from mqk_db import (
    OutOfOrderSnapshotError,
    ReconcileCheckpoint,
    RunRecord,
    latest_reconcile,
    record_reconcile,
)
from mqk_reconcile import (
    InternalState,
    ReconcileConfig,
    Reconciler,
    ReconcileRefusal,
    ReconcileResult,
    SnapshotCheckpoint,
    reconcile,
)
from mqk_runtime._internal import load_internal_state
from mqk_schemas import BrokerSnapshot

__all__ = ["EngineCheck", "ReconcileTick", "check_engine", "reconcile_and_record"]


@dataclass(frozen=True, slots=True)
class ReconcileTick:
    """One reconcile: the result, and its checkpoint (None when the DB refused it as older)."""

    result: ReconcileResult
    checkpoint: ReconcileCheckpoint | None
    refused: OutOfOrderSnapshotError | None = None


def reconcile_and_record(
    db: Engine,
    *,
    engine_id: str,
    run_id: uuid.UUID | None,
    snapshot: BrokerSnapshot,
    internal: InternalState,
    config: ReconcileConfig,
    now: datetime,
) -> ReconcileTick:
    """Reconcile and store the checkpoint (its diff summary carries the snapshot digest)."""
    result = reconcile(engine_id, snapshot, internal, config)
    try:
        checkpoint = _record(db, result, run_id, now)
    except OutOfOrderSnapshotError as exc:
        return ReconcileTick(result, None, exc)
    return ReconcileTick(result, checkpoint)


@dataclass(frozen=True, slots=True)
class EngineCheck:
    """Outcome of :func:`check_engine`: a result and its checkpoint, or a refusal."""

    run: RunRecord | None
    result: ReconcileResult | None
    checkpoint: ReconcileCheckpoint | None
    refusal: ReconcileRefusal | None


def check_engine(
    db: Engine,
    engine_id: str,
    snapshot: BrokerSnapshot,
    *,
    config: ReconcileConfig,
    now: datetime,
) -> EngineCheck:
    """Reconcile ``snapshot`` against the engine's stored state and record the checkpoint.

    The snapshot must be newer than the engine's latest checkpoint (or the same snapshot again):
    otherwise a typed :class:`~mqk_reconcile.ReconcileRefusal` is returned and nothing is
    written.
    """
    stored = load_internal_state(db, engine_id)
    latest = latest_reconcile(db, engine_id)
    seed = {}
    if latest is not None:
        digest = latest.diff_summary.get("snapshot_sha256")
        seed[engine_id] = SnapshotCheckpoint(
            captured_at=latest.captured_at,
            snapshot_sha256=digest if isinstance(digest, str) else None,
        )
    outcome = Reconciler(config, checkpoints=seed).check(engine_id, snapshot, stored.internal)
    if isinstance(outcome, ReconcileRefusal):
        return EngineCheck(stored.run, None, None, outcome)
    run_id = stored.run.run_id if stored.run is not None else None
    checkpoint = _record(db, outcome, run_id, now)
    return EngineCheck(stored.run, outcome, checkpoint, None)


def _record(
    db: Engine, result: ReconcileResult, run_id: uuid.UUID | None, now: datetime
) -> ReconcileCheckpoint:
    return record_reconcile(
        db,
        engine_id=result.engine_id,
        captured_at=result.captured_at,
        result=result.status.value,
        diff_summary=result.summary(),
        now=now,
        run_id=run_id,
    )
