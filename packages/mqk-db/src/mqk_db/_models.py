"""SQLAlchemy 2 models: runs, audit events, order outbox, broker inbox, reconcile, arm state.

The rules that must hold even against raw SQL live in the database: CHECK constraints here,
the partial unique index on active LIVE runs here (declared for PostgreSQL AND SQLite), and the
transition triggers in the migration (see ``migrations/versions``).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from mqk_db._types import UtcDateTime

__all__ = [
    "NAMING_CONVENTION",
    "ArmStateRow",
    "AuditEventRow",
    "Base",
    "BrokerInboxRow",
    "OrderOutboxRow",
    "ReconcileCheckpointRow",
    "RunRow",
]

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

RUN_MODES = ("BACKTEST", "PAPER", "LIVE")
RUN_STATUSES = ("CREATED", "ARMED", "RUNNING", "HALTED", "STOPPED")
OUTBOX_STATUSES = ("PENDING", "SENT", "ACKED", "FAILED", "AMBIGUOUS")
RECONCILE_RESULTS = ("CLEAN", "WARN", "CRITICAL")
ARM_STATES = ("ARMED", "DISARMED")
TOPICS = ("MARKET", "STRATEGY", "OMS", "RISK", "BROKER", "LEDGER", "RECON", "RUNTIME", "AUDIT")

_Id = BigInteger().with_variant(Integer(), "sqlite")
"""Surrogate keys: BIGINT on PostgreSQL, INTEGER (rowid alias) on SQLite."""

ACTIVE_LIVE_WHERE = "mode = 'LIVE' AND status IN ('ARMED', 'RUNNING')"


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    """Declarative base whose metadata carries the naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class RunRow(Base):
    """One run: engine, mode, status, pinned config, provenance and per-state timestamps."""

    __tablename__ = "runs"

    run_id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    engine_id: Mapped[str] = mapped_column(String(16))
    mode: Mapped[str] = mapped_column(String(16))
    shadow: Mapped[bool] = mapped_column(Boolean(create_constraint=False))
    status: Mapped[str] = mapped_column(String(16))
    config_hash: Mapped[str] = mapped_column(String(64))
    config_json: Mapped[str] = mapped_column(Text())
    git_revision: Mapped[str] = mapped_column(String(64))
    host_fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    armed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    halted_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    stopped_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_heartbeat_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    halt_reason: Mapped[str | None] = mapped_column(Text())

    __table_args__ = (
        CheckConstraint(_in("mode", RUN_MODES), name="mode"),
        CheckConstraint(_in("status", RUN_STATUSES), name="status"),
        CheckConstraint("length(config_hash) = 64", name="config_hash_len"),
        CheckConstraint("length(engine_id) > 0", name="engine_id_nonempty"),
        CheckConstraint(
            "(halted_at IS NULL AND halt_reason IS NULL) "
            "OR (halted_at IS NOT NULL AND halt_reason IS NOT NULL)",
            name="halt_reason",
        ),
        Index(
            "uq_runs_one_active_live_per_engine",
            "engine_id",
            unique=True,
            postgresql_where=text(ACTIVE_LIVE_WHERE),
            sqlite_where=text(ACTIVE_LIVE_WHERE),
        ),
        Index("ix_runs_engine_id_status", "engine_id", "status"),
    )


class AuditEventRow(Base):
    """One line of a run's hash-chained audit log (append-only, enforced by triggers)."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(_Id, primary_key=True, autoincrement=True)
    run_id: Mapped[uuid.UUID] = mapped_column(Uuid(), ForeignKey("runs.run_id"))
    seq: Mapped[int] = mapped_column(Integer())
    ts_utc: Mapped[datetime] = mapped_column(UtcDateTime())
    topic: Mapped[str] = mapped_column(String(16))
    event_type: Mapped[str] = mapped_column(String(64))
    record_json: Mapped[str] = mapped_column(Text())
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        UniqueConstraint("run_id", "seq"),
        UniqueConstraint("hash"),
        CheckConstraint(_in("topic", TOPICS), name="topic"),
        CheckConstraint("seq >= 1", name="seq_positive"),
    )


class OrderOutboxRow(Base):
    """An order written before the broker call; the idempotency key makes resubmits no-ops."""

    __tablename__ = "order_outbox"

    id: Mapped[int] = mapped_column(_Id, primary_key=True, autoincrement=True)
    run_id: Mapped[uuid.UUID] = mapped_column(Uuid(), ForeignKey("runs.run_id"))
    idempotency_key: Mapped[str] = mapped_column(String(128))
    payload_json: Mapped[str] = mapped_column(Text())
    status: Mapped[str] = mapped_column(String(16))
    broker_order_id: Mapped[str | None] = mapped_column(String(128))
    last_error: Mapped[str | None] = mapped_column(Text())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (
        UniqueConstraint("idempotency_key"),
        CheckConstraint(_in("status", OUTBOX_STATUSES), name="status"),
        Index("ix_order_outbox_run_id_status", "run_id", "status"),
    )


class BrokerInboxRow(Base):
    """A broker message received once (unique message id) and applied at most once."""

    __tablename__ = "broker_inbox"

    id: Mapped[int] = mapped_column(_Id, primary_key=True, autoincrement=True)
    run_id: Mapped[uuid.UUID] = mapped_column(Uuid(), ForeignKey("runs.run_id"))
    broker_message_id: Mapped[str] = mapped_column(String(128))
    payload_json: Mapped[str] = mapped_column(Text())
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())
    applied: Mapped[bool] = mapped_column(Boolean(create_constraint=False))
    applied_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    __table_args__ = (
        UniqueConstraint("broker_message_id"),
        CheckConstraint(
            "(applied AND applied_at IS NOT NULL) OR (NOT applied AND applied_at IS NULL)",
            name="applied_at",
        ),
    )


class ReconcileCheckpointRow(Base):
    """The outcome of one reconcile of an engine against a broker snapshot."""

    __tablename__ = "reconcile_checkpoints"

    id: Mapped[int] = mapped_column(_Id, primary_key=True, autoincrement=True)
    engine_id: Mapped[str] = mapped_column(String(16))
    run_id: Mapped[uuid.UUID | None] = mapped_column(Uuid(), ForeignKey("runs.run_id"))
    captured_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    result: Mapped[str] = mapped_column(String(16))
    diff_summary_json: Mapped[str] = mapped_column(Text())

    __table_args__ = (
        CheckConstraint(_in("result", RECONCILE_RESULTS), name="result"),
        Index("ix_reconcile_checkpoints_engine_id_captured_at", "engine_id", "captured_at"),
    )


class ArmStateRow(Base):
    """Per-engine arm switch: which run the engine is armed for, or why it is disarmed."""

    __tablename__ = "arm_state"

    engine_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    run_id: Mapped[uuid.UUID | None] = mapped_column(Uuid(), ForeignKey("runs.run_id"))
    reason: Mapped[str] = mapped_column(Text())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (
        CheckConstraint(_in("state", ARM_STATES), name="state"),
        CheckConstraint("state <> 'ARMED' OR run_id IS NOT NULL", name="armed_has_run"),
    )


class PaperJournalRow(Base):
    """Every request a paper broker received and every bar it processed, in order, per run.

    Replaying a run's journal into a fresh simulated broker rebuilds it exactly (mqk-runtime's
    PaperBroker), so a paper run survives restarts.
    """

    __tablename__ = "mqk_runtime_paper_journal"

    id: Mapped[int] = mapped_column(_Id, primary_key=True, autoincrement=True)
    run_id: Mapped[uuid.UUID] = mapped_column(Uuid())
    seq: Mapped[int] = mapped_column(Integer())
    kind: Mapped[str] = mapped_column(String(16))
    ts_utc: Mapped[str] = mapped_column(String(40))
    payload_json: Mapped[str] = mapped_column(Text())

    __table_args__ = (UniqueConstraint("run_id", "seq"),)


class RuntimeStateRow(Base):
    """Per run: the runtime's cycle cursor, the digest of its bars, risk and OMS state."""

    __tablename__ = "mqk_runtime_state"

    run_id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    feed_digest: Mapped[str] = mapped_column(String(64))
    bars_total: Mapped[int] = mapped_column(Integer())
    bars_done: Mapped[int] = mapped_column(Integer())
    risk_state_json: Mapped[str | None] = mapped_column(Text())
    oms_json: Mapped[str | None] = mapped_column(Text())
    updated_at: Mapped[str] = mapped_column(String(40))
