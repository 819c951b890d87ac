"""Run lifecycle: each call is one transaction that re-reads the run under a row lock.

CREATED -> ARMED -> RUNNING -> STOPPED, and ARMED or RUNNING -> HALTED -> STOPPED. The same
rules are enforced again by the database (CHECK, triggers, partial unique index), so a bug
here or a raw SQL statement cannot break them. Time is always handed in (``now``).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mqk_db._audit import add_audit_event
from mqk_db._models import ArmStateRow, RunRow
from mqk_db._preflight import ArmingInputs, evaluate_arming, evaluate_begin
from mqk_db._reconcile import latest_checkpoint_row
from mqk_db._records import ArmState, ReconcileCheckpoint, RunRecord, RunSpec
from mqk_db.errors import (
    DbInputError,
    IllegalTransition,
    LiveRunAlreadyActive,
    PreflightFailed,
    RunNotFound,
)
from mqk_schemas import (
    ENGINE_ID_PATTERN,
    Action,
    Decision,
    RunMode,
    RunStatus,
    Topic,
    format_utc,
    to_utc,
)

__all__ = [
    "arm_run",
    "begin_run",
    "create_run",
    "get_run",
    "halt_run",
    "halt_stale_runs",
    "heartbeat_run",
    "list_runs",
    "stale_runs",
    "stop_run",
]

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_ENGINE = re.compile(ENGINE_ID_PATTERN)
_ACTIVE = (RunStatus.ARMED.value, RunStatus.RUNNING.value)


def create_run(engine: Engine, spec: RunSpec, *, now: datetime) -> RunRecord:
    """Insert a new run in CREATED with its pinned config and provenance."""
    _validate_spec(spec)
    ts = to_utc(now)
    with Session(engine) as session, session.begin():
        row = RunRow(
            run_id=uuid.uuid4(),
            engine_id=spec.engine_id,
            mode=spec.mode.value,
            shadow=spec.shadow,
            status=RunStatus.CREATED.value,
            config_hash=spec.config_hash,
            config_json=spec.config_json,
            git_revision=spec.git_revision,
            host_fingerprint=spec.host_fingerprint,
            created_at=ts,
        )
        session.add(row)
        session.flush()
        _audit(session, row, "RUN_CREATED", ts, config_hash=spec.config_hash)
        return RunRecord.from_row(row)


def start_backtest_run(engine: Engine, spec: RunSpec, *, now: datetime) -> RunRecord:
    """Record a BACKTEST run: created and RUNNING in one transaction, never armed.

    A backtest never reaches a broker, so it is not armed and the engine's arm switch is left
    alone (a live run of the same engine keeps its arm). Stop it with :func:`stop_run` (or
    :func:`halt_run` first when a kill switch halted the backtest).
    """
    if spec.mode is not RunMode.BACKTEST:
        raise DbInputError(
            f"start_backtest_run records BACKTEST runs, not {spec.mode.value}",
            {"field": "mode"},
        )
    record = create_run(engine, spec, now=now)
    ts = to_utc(now)
    with Session(engine) as session, session.begin():
        row = _locked(session, record.run_id)
        _require(row, (RunStatus.CREATED,), RunStatus.RUNNING)
        row.status = RunStatus.RUNNING.value
        row.started_at = ts
        row.last_heartbeat_at = ts
        session.flush()
        _audit(session, row, "RUN_STARTED", ts, backtest=True)
        return RunRecord.from_row(row)


def arm_run(
    engine: Engine,
    run_id: uuid.UUID,
    inputs: ArmingInputs,
    *,
    confirmation: str | None = None,
    now: datetime,
) -> RunRecord:
    """CREATED -> ARMED after the preflight; LIVE also needs a fresh CLEAN reconcile + phrase.

    Raises :class:`PreflightFailed` listing every failed check, and
    :class:`LiveRunAlreadyActive` naming the active run when another LIVE run of the engine
    is ARMED or RUNNING (also when two processes race: the partial unique index decides).
    """
    ts = to_utc(now)
    try:
        with Session(engine) as session, session.begin():
            row = _locked(session, run_id)
            _require(row, (RunStatus.CREATED,), RunStatus.ARMED)
            record = RunRecord.from_row(row)
            latest = _latest_reconcile(session, row.engine_id)
            failures = evaluate_arming(
                record, inputs, confirmation=confirmation, latest_reconcile=latest, now=ts
            )
            if failures:
                raise PreflightFailed(run_id, "arming", failures)
            if record.mode is RunMode.LIVE:
                _refuse_if_live_active(session, row.engine_id, exclude=run_id)
            row.status = RunStatus.ARMED.value
            row.armed_at = ts
            session.flush()
            _set_arm_state(session, row.engine_id, "ARMED", run_id, f"armed run {run_id}", ts)
            _audit(
                session,
                row,
                "RUN_ARMED",
                ts,
                config_hash=inputs.config_hash,
                reconcile_checkpoint_id=latest.id if latest is not None else None,
            )
            return RunRecord.from_row(row)
    except IntegrityError:
        # Lost a race on the partial unique index: name the winner.
        with Session(engine) as session, session.begin():
            run = session.get(RunRow, run_id)
            if run is not None and run.mode == RunMode.LIVE.value:
                _refuse_if_live_active(session, run.engine_id, exclude=run_id)
        raise


def begin_run(
    engine: Engine,
    run_id: uuid.UUID,
    *,
    reconcile_freshness: timedelta,
    now: datetime,
) -> RunRecord:
    """ARMED -> RUNNING; the engine must still be armed for this run, LIVE re-checks reconcile."""
    ts = to_utc(now)
    with Session(engine) as session, session.begin():
        row = _locked(session, run_id)
        _require(row, (RunStatus.ARMED,), RunStatus.RUNNING)
        record = RunRecord.from_row(row)
        failures = list(
            evaluate_begin(
                record,
                latest_reconcile=_latest_reconcile(session, row.engine_id),
                reconcile_freshness=reconcile_freshness,
                now=ts,
            )
        )
        arm = session.get(ArmStateRow, row.engine_id)
        if arm is None or arm.state != "ARMED" or arm.run_id != run_id:
            failures.insert(0, _disarmed_decision(row.engine_id, run_id, arm))
        if failures:
            raise PreflightFailed(run_id, "start", failures)
        row.status = RunStatus.RUNNING.value
        row.started_at = ts
        row.last_heartbeat_at = ts
        session.flush()
        _audit(session, row, "RUN_STARTED", ts)
        return RunRecord.from_row(row)


def stop_run(engine: Engine, run_id: uuid.UUID, *, now: datetime) -> RunRecord:
    """RUNNING or HALTED -> STOPPED (terminal); the engine is disarmed if armed for this run."""
    ts = to_utc(now)
    with Session(engine) as session, session.begin():
        row = _locked(session, run_id)
        _require(row, (RunStatus.RUNNING, RunStatus.HALTED), RunStatus.STOPPED)
        row.status = RunStatus.STOPPED.value
        row.stopped_at = ts
        session.flush()
        _disarm_if_armed_for(session, row.engine_id, run_id, f"run {run_id} stopped", ts)
        _audit(session, row, "RUN_STOPPED", ts)
        return RunRecord.from_row(row)


def halt_run(engine: Engine, run_id: uuid.UUID, reason: str, *, now: datetime) -> RunRecord:
    """ARMED or RUNNING -> HALTED with a reason; the engine is disarmed."""
    reason = reason.strip()
    if not reason:
        raise DbInputError("halt needs a non-empty reason", {"field": "reason"})
    ts = to_utc(now)
    with Session(engine) as session, session.begin():
        row = _locked(session, run_id)
        _require(row, (RunStatus.ARMED, RunStatus.RUNNING), RunStatus.HALTED)
        row.status = RunStatus.HALTED.value
        row.halted_at = ts
        row.halt_reason = reason
        session.flush()
        _disarm_if_armed_for(session, row.engine_id, run_id, f"run {run_id} halted: {reason}", ts)
        _audit(session, row, "RUN_HALTED", ts, reason=reason)
        return RunRecord.from_row(row)


def heartbeat_run(engine: Engine, run_id: uuid.UUID, *, now: datetime) -> RunRecord:
    """Record that a RUNNING run is alive (the heartbeat never moves backwards)."""
    ts = to_utc(now)
    with Session(engine) as session, session.begin():
        row = _locked(session, run_id)
        if row.status != RunStatus.RUNNING.value:
            raise IllegalTransition(
                run_id,
                row.status,
                "HEARTBEAT",
                f"run {run_id} is {row.status}; only a RUNNING run can heartbeat",
            )
        if row.last_heartbeat_at is None or ts > row.last_heartbeat_at:
            row.last_heartbeat_at = ts
        session.flush()
        return RunRecord.from_row(row)


def stale_runs(
    engine: Engine, *, threshold: timedelta, now: datetime, engine_id: str | None = None
) -> list[RunRecord]:
    """RUNNING runs (of ``engine_id``, or all) whose heartbeat is older than ``threshold``."""
    cutoff = to_utc(now) - threshold
    query = (
        select(RunRow)
        .where(RunRow.status == RunStatus.RUNNING.value, RunRow.last_heartbeat_at < cutoff)
        .order_by(RunRow.last_heartbeat_at, RunRow.run_id)
    )
    if engine_id is not None:
        query = query.where(RunRow.engine_id == engine_id)
    with Session(engine) as session, session.begin():
        return [RunRecord.from_row(row) for row in session.scalars(query)]


def halt_stale_runs(
    engine: Engine, *, threshold: timedelta, now: datetime, engine_id: str | None = None
) -> list[RunRecord]:
    """Deadman: halt every stale RUNNING run (re-checked under its row lock); returns them."""
    ts = to_utc(now)
    cutoff = ts - threshold
    halted: list[RunRecord] = []
    for candidate in stale_runs(engine, threshold=threshold, now=ts, engine_id=engine_id):
        with Session(engine) as session, session.begin():
            row = _locked(session, candidate.run_id)
            beat = row.last_heartbeat_at
            if row.status != RunStatus.RUNNING.value or beat is None or beat >= cutoff:
                continue
            reason = (
                f"HEARTBEAT_STALE: last heartbeat {format_utc(beat)} is older than "
                f"{int(threshold.total_seconds())} s at {format_utc(ts)}"
            )
            row.status = RunStatus.HALTED.value
            row.halted_at = ts
            row.halt_reason = reason
            session.flush()
            _disarm_if_armed_for(session, row.engine_id, row.run_id, reason, ts)
            _audit(session, row, "RUN_HALTED", ts, reason=reason)
            halted.append(RunRecord.from_row(row))
    return halted


def get_run(engine: Engine, run_id: uuid.UUID) -> RunRecord:
    """The run with ``run_id`` (raises :class:`RunNotFound`)."""
    with Session(engine) as session, session.begin():
        row = session.get(RunRow, run_id)
        if row is None:
            raise RunNotFound(run_id)
        return RunRecord.from_row(row)


def list_runs(
    engine: Engine,
    *,
    engine_id: str | None = None,
    statuses: Iterable[RunStatus] | None = None,
) -> list[RunRecord]:
    """Runs, oldest first, optionally only one engine's and/or only some statuses."""
    query = select(RunRow).order_by(RunRow.created_at, RunRow.run_id)
    if engine_id is not None:
        query = query.where(RunRow.engine_id == engine_id)
    if statuses is not None:
        query = query.where(RunRow.status.in_([s.value for s in statuses]))
    with Session(engine) as session, session.begin():
        return [RunRecord.from_row(row) for row in session.scalars(query)]


def _validate_spec(spec: RunSpec) -> None:
    problems: list[str] = []
    if not _ENGINE.match(spec.engine_id):
        problems.append(f"engine_id {spec.engine_id!r} must match {ENGINE_ID_PATTERN}")
    if not _HEX64.match(spec.config_hash):
        problems.append("config_hash must be 64 lowercase hex characters (SHA-256)")
    try:
        parsed = json.loads(spec.config_json)
    except json.JSONDecodeError as exc:
        problems.append(f"config_json is not JSON ({exc.msg})")
    else:
        if not isinstance(parsed, dict):
            problems.append("config_json must be a JSON object")
    for name in ("git_revision", "host_fingerprint"):
        value: str = getattr(spec, name)
        if not value or len(value) > 64:
            problems.append(f"{name} must be 1..64 characters")
    if problems:
        raise DbInputError("invalid run spec: " + "; ".join(problems), {"problems": problems})


def _locked(session: Session, run_id: uuid.UUID) -> RunRow:
    row = session.get(RunRow, run_id, with_for_update=True, populate_existing=True)
    if row is None:
        raise RunNotFound(run_id)
    return row


def _require(row: RunRow, allowed: tuple[RunStatus, ...], target: RunStatus) -> None:
    if row.status not in {s.value for s in allowed}:
        raise IllegalTransition(row.run_id, row.status, target.value)


def _latest_reconcile(session: Session, engine_id: str) -> ReconcileCheckpoint | None:
    row = latest_checkpoint_row(session, engine_id)
    return ReconcileCheckpoint.from_row(row) if row is not None else None


def _refuse_if_live_active(session: Session, engine_id: str, *, exclude: uuid.UUID) -> None:
    active = session.scalars(
        select(RunRow).where(
            RunRow.engine_id == engine_id,
            RunRow.mode == RunMode.LIVE.value,
            RunRow.status.in_(_ACTIVE),
            RunRow.run_id != exclude,
        )
    ).first()
    if active is not None:
        raise LiveRunAlreadyActive(engine_id, active.run_id, active.status)


def _set_arm_state(
    session: Session,
    engine_id: str,
    state: str,
    run_id: uuid.UUID | None,
    reason: str,
    ts: datetime,
) -> None:
    arm = session.get(ArmStateRow, engine_id, with_for_update=True)
    if arm is None:
        session.add(
            ArmStateRow(
                engine_id=engine_id, state=state, run_id=run_id, reason=reason, updated_at=ts
            )
        )
    else:
        arm.state, arm.run_id, arm.reason, arm.updated_at = state, run_id, reason, ts
    session.flush()


def _disarm_if_armed_for(
    session: Session, engine_id: str, run_id: uuid.UUID, reason: str, ts: datetime
) -> None:
    arm = session.get(ArmStateRow, engine_id, with_for_update=True)
    if arm is not None and arm.state == "ARMED" and arm.run_id == run_id:
        _set_arm_state(session, engine_id, "DISARMED", run_id, reason, ts)


def _disarmed_decision(engine_id: str, run_id: uuid.UUID, arm: ArmStateRow | None) -> Decision:
    state = ArmState.from_row(arm) if arm is not None else None
    return Decision(
        action=Action.REJECT,
        reason_code="ENGINE_NOT_ARMED_FOR_RUN",
        message=f"engine {engine_id} is not armed for run {run_id}"
        + (f" ({state.state}: {state.reason})" if state is not None else ""),
        evidence={
            "engine_id": engine_id,
            "arm_state": state.state if state is not None else None,
            "armed_run_id": str(state.run_id) if state and state.run_id else None,
        },
    )


def _audit(session: Session, row: RunRow, event_type: str, ts: datetime, **payload: Any) -> None:
    add_audit_event(
        session,
        row.run_id,
        Topic.RUNTIME,
        event_type,
        {"engine_id": row.engine_id, "mode": row.mode, "status": row.status, **payload},
        ts,
    )
