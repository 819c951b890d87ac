"""Typed, immutable records returned by the mqk_db API (never live ORM objects)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from mqk_db._models import (
    ArmStateRow,
    AuditEventRow,
    BrokerInboxRow,
    OrderOutboxRow,
    ReconcileCheckpointRow,
    RunRow,
)
from mqk_schemas import RunMode, RunStatus

__all__ = [
    "ArmState",
    "AuditEvent",
    "InboxMessage",
    "OutboxEntry",
    "ReconcileCheckpoint",
    "RunRecord",
    "RunSpec",
]


@dataclass(frozen=True, slots=True)
class RunSpec:
    """What a new run binds: engine, mode, pinned config (hash + non-secret JSON), provenance."""

    engine_id: str
    mode: RunMode
    config_hash: str
    config_json: str
    git_revision: str
    host_fingerprint: str
    shadow: bool = False


@dataclass(frozen=True, slots=True)
class RunRecord:
    """A run as stored."""

    run_id: uuid.UUID
    engine_id: str
    mode: RunMode
    shadow: bool
    status: RunStatus
    config_hash: str
    config_json: str
    git_revision: str
    host_fingerprint: str
    created_at: datetime
    armed_at: datetime | None
    started_at: datetime | None
    halted_at: datetime | None
    stopped_at: datetime | None
    last_heartbeat_at: datetime | None
    halt_reason: str | None

    @property
    def is_active(self) -> bool:
        """True in ARMED or RUNNING."""
        return self.status in (RunStatus.ARMED, RunStatus.RUNNING)

    def summary(self) -> dict[str, Any]:
        """Every field except the (long) config JSON, for tables and ``--json`` output."""
        return {
            "run_id": self.run_id,
            "engine_id": self.engine_id,
            "mode": self.mode,
            "shadow": self.shadow,
            "status": self.status,
            "config_hash": self.config_hash,
            "git_revision": self.git_revision,
            "host_fingerprint": self.host_fingerprint,
            "created_at": self.created_at,
            "armed_at": self.armed_at,
            "started_at": self.started_at,
            "halted_at": self.halted_at,
            "stopped_at": self.stopped_at,
            "last_heartbeat_at": self.last_heartbeat_at,
            "halt_reason": self.halt_reason,
        }

    @classmethod
    def from_row(cls, row: RunRow) -> RunRecord:
        """Copy an ORM row."""
        return cls(
            run_id=row.run_id,
            engine_id=row.engine_id,
            mode=RunMode(row.mode),
            shadow=row.shadow,
            status=RunStatus(row.status),
            config_hash=row.config_hash,
            config_json=row.config_json,
            git_revision=row.git_revision,
            host_fingerprint=row.host_fingerprint,
            created_at=row.created_at,
            armed_at=row.armed_at,
            started_at=row.started_at,
            halted_at=row.halted_at,
            stopped_at=row.stopped_at,
            last_heartbeat_at=row.last_heartbeat_at,
            halt_reason=row.halt_reason,
        )


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One stored audit line: its place in the run's chain and the chained record."""

    run_id: uuid.UUID
    seq: int
    ts_utc: datetime
    topic: str
    event_type: str
    record_json: str
    prev_hash: str
    hash: str

    @property
    def line(self) -> str:
        """The JSON line exactly as :class:`mqk_schemas.AuditChain` renders it."""
        return (
            f'{{"hash":"{self.hash}","prev_hash":"{self.prev_hash}","record":{self.record_json}}}'
        )

    @classmethod
    def from_row(cls, row: AuditEventRow) -> AuditEvent:
        """Copy an ORM row."""
        return cls(
            run_id=row.run_id,
            seq=row.seq,
            ts_utc=row.ts_utc,
            topic=row.topic,
            event_type=row.event_type,
            record_json=row.record_json,
            prev_hash=row.prev_hash,
            hash=row.hash,
        )


@dataclass(frozen=True, slots=True)
class ReconcileCheckpoint:
    """One recorded reconcile outcome of an engine."""

    id: int
    engine_id: str
    run_id: uuid.UUID | None
    captured_at: datetime
    recorded_at: datetime
    result: str
    diff_summary: dict[str, Any]

    @classmethod
    def from_row(cls, row: ReconcileCheckpointRow) -> ReconcileCheckpoint:
        """Copy an ORM row."""
        return cls(
            id=row.id,
            engine_id=row.engine_id,
            run_id=row.run_id,
            captured_at=row.captured_at,
            recorded_at=row.recorded_at,
            result=row.result,
            diff_summary=json.loads(row.diff_summary_json, parse_float=Decimal),
        )


@dataclass(frozen=True, slots=True)
class ArmState:
    """An engine's arm switch."""

    engine_id: str
    state: str
    run_id: uuid.UUID | None
    reason: str
    updated_at: datetime

    @property
    def armed(self) -> bool:
        """True when the engine is armed (for ``run_id``)."""
        return self.state == "ARMED"

    @classmethod
    def from_row(cls, row: ArmStateRow) -> ArmState:
        """Copy an ORM row."""
        return cls(
            engine_id=row.engine_id,
            state=row.state,
            run_id=row.run_id,
            reason=row.reason,
            updated_at=row.updated_at,
        )


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """An order in the outbox."""

    id: int
    run_id: uuid.UUID
    idempotency_key: str
    payload: dict[str, Any]
    status: str
    broker_order_id: str | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: OrderOutboxRow) -> OutboxEntry:
        """Copy an ORM row."""
        return cls(
            id=row.id,
            run_id=row.run_id,
            idempotency_key=row.idempotency_key,
            payload=json.loads(row.payload_json, parse_float=Decimal),
            status=row.status,
            broker_order_id=row.broker_order_id,
            last_error=row.last_error,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


@dataclass(frozen=True, slots=True)
class InboxMessage:
    """A broker message in the inbox."""

    id: int
    run_id: uuid.UUID
    broker_message_id: str
    payload: dict[str, Any]
    received_at: datetime
    applied: bool
    applied_at: datetime | None

    @classmethod
    def from_row(cls, row: BrokerInboxRow) -> InboxMessage:
        """Copy an ORM row."""
        return cls(
            id=row.id,
            run_id=row.run_id,
            broker_message_id=row.broker_message_id,
            payload=json.loads(row.payload_json, parse_float=Decimal),
            received_at=row.received_at,
            applied=row.applied,
            applied_at=row.applied_at,
        )
