"""Per-run hash-chained audit events, stored append-only (chained with mqk_schemas.AuditChain)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from mqk_db._models import AuditEventRow, RunRow
from mqk_db._records import AuditEvent
from mqk_db.errors import RunNotFound
from mqk_schemas import (
    GENESIS_HASH,
    AuditChain,
    AuditVerification,
    Topic,
    canonical_json,
    to_utc,
    verify_audit_lines,
)

__all__ = ["append_audit_event", "audit_events", "verify_run_audit"]


def add_audit_event(
    session: Session,
    run_id: uuid.UUID,
    topic: Topic,
    event_type: str,
    payload: Mapping[str, Any],
    now: datetime,
) -> AuditEventRow:
    """Chain one event onto the run's log inside ``session``'s transaction.

    The caller holds the run row locked (``FOR UPDATE``), so appends to one run serialise;
    the unique ``(run_id, seq)`` and ``hash`` constraints back that up.
    """
    last = session.execute(
        select(AuditEventRow.seq, AuditEventRow.hash)
        .where(AuditEventRow.run_id == run_id)
        .order_by(AuditEventRow.seq.desc())
        .limit(1)
    ).first()
    seq, prev_hash = (last[0] + 1, last[1]) if last is not None else (1, GENESIS_HASH)
    ts = to_utc(now)
    record = {
        "run_id": run_id,
        "seq": seq,
        "ts_utc": ts,
        "topic": topic,
        "event_type": event_type,
        "payload": dict(payload),
    }
    chain = AuditChain(prev_hash)
    chain.line_for(record)
    row = AuditEventRow(
        run_id=run_id,
        seq=seq,
        ts_utc=ts,
        topic=str(topic),
        event_type=event_type,
        record_json=canonical_json(record),
        prev_hash=prev_hash,
        hash=chain.last_hash,
    )
    session.add(row)
    session.flush()
    return row


def append_audit_event(
    engine: Engine,
    run_id: uuid.UUID,
    topic: Topic,
    event_type: str,
    payload: Mapping[str, Any],
    *,
    now: datetime,
) -> AuditEvent:
    """Append one event to the run's audit chain in its own transaction."""
    with Session(engine) as session, session.begin():
        if session.get(RunRow, run_id, with_for_update=True) is None:
            raise RunNotFound(run_id)
        row = add_audit_event(session, run_id, topic, event_type, payload, now)
        return AuditEvent.from_row(row)


def audit_events(engine: Engine, run_id: uuid.UUID) -> list[AuditEvent]:
    """The run's audit events in chain order."""
    with Session(engine) as session, session.begin():
        rows = session.scalars(
            select(AuditEventRow).where(AuditEventRow.run_id == run_id).order_by(AuditEventRow.seq)
        )
        return [AuditEvent.from_row(row) for row in rows]


def verify_run_audit(engine: Engine, run_id: uuid.UUID) -> AuditVerification:
    """Verify the run's stored chain with :func:`mqk_schemas.verify_audit_lines`."""
    return verify_audit_lines(event.line for event in audit_events(engine, run_id))
