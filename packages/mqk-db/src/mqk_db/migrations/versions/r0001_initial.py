"""Initial schema: runs, audit events, order outbox, broker inbox, reconcile, arm state.

Revision ID: 0001
Revises:
Create Date: 2024-11-24

Besides tables, CHECK constraints and the partial unique index (one LIVE run per engine in
ARMED or RUNNING), this revision installs triggers so that even raw SQL cannot break the rules:
a run is inserted as CREATED, only legal status transitions are accepted, STOPPED is terminal,
a run's identity (engine, mode, pinned config) never changes, runs are never deleted, audit
events are append-only, the outbox follows PENDING -> SENT -> ACKED | FAILED | AMBIGUOUS
(AMBIGUOUS -> ACKED | FAILED), and an inbox message once applied stays applied.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from mqk_db._ddl import LEGAL_RUN_TRANSITION, create_rule, drop_rule

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)
_ACTIVE_LIVE = "mode = 'LIVE' AND status IN ('ARMED', 'RUNNING')"

_LEGAL_RUN_TRANSITION = LEGAL_RUN_TRANSITION
_LEGAL_OUTBOX_TRANSITION = (
    "(OLD.status = 'PENDING' AND NEW.status = 'SENT')"
    " OR (OLD.status = 'SENT' AND NEW.status IN ('ACKED', 'FAILED', 'AMBIGUOUS'))"
    " OR (OLD.status = 'AMBIGUOUS' AND NEW.status IN ('ACKED', 'FAILED'))"
)


def _changed(*columns: str) -> str:
    """SQL that is true when any of ``columns`` changes (NULL-safe)."""
    return " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in columns)


_RUN_IDENTITY_CHANGED = _changed(
    "run_id",
    "engine_id",
    "mode",
    "shadow",
    "config_hash",
    "config_json",
    "git_revision",
    "host_fingerprint",
    "created_at",
)

# (name, table, timing+event, WHEN condition, error code + message)
_RULES: tuple[tuple[str, str, str, str, str], ...] = (
    (
        "trg_runs_insert_created",
        "runs",
        "BEFORE INSERT",
        "NEW.status <> 'CREATED'",
        "MQK_RUN_INSERT_NOT_CREATED: a run is inserted with status CREATED",
    ),
    (
        "trg_runs_stopped_terminal",
        "runs",
        "BEFORE UPDATE",
        "OLD.status = 'STOPPED'",
        "MQK_RUN_STOPPED_TERMINAL: a STOPPED run cannot change",
    ),
    (
        "trg_runs_legal_transition",
        "runs",
        "BEFORE UPDATE",
        f"NEW.status <> OLD.status AND NOT ({_LEGAL_RUN_TRANSITION})",
        "MQK_ILLEGAL_TRANSITION: illegal run status transition",
    ),
    (
        "trg_runs_identity_immutable",
        "runs",
        "BEFORE UPDATE",
        _RUN_IDENTITY_CHANGED,
        "MQK_RUN_IDENTITY_IMMUTABLE: engine, mode, config and provenance of a run are pinned",
    ),
    (
        "trg_runs_no_delete",
        "runs",
        "BEFORE DELETE",
        "1 = 1",
        "MQK_RUN_NO_DELETE: runs are history and are never deleted",
    ),
    (
        "trg_audit_events_no_update",
        "audit_events",
        "BEFORE UPDATE",
        "1 = 1",
        "MQK_AUDIT_APPEND_ONLY: audit events are never changed",
    ),
    (
        "trg_audit_events_no_delete",
        "audit_events",
        "BEFORE DELETE",
        "1 = 1",
        "MQK_AUDIT_APPEND_ONLY: audit events are never deleted",
    ),
    (
        "trg_order_outbox_insert_pending",
        "order_outbox",
        "BEFORE INSERT",
        "NEW.status <> 'PENDING'",
        "MQK_OUTBOX_INSERT_NOT_PENDING: an outbox entry is inserted as PENDING",
    ),
    (
        "trg_order_outbox_legal_transition",
        "order_outbox",
        "BEFORE UPDATE",
        f"NEW.status <> OLD.status AND NOT ({_LEGAL_OUTBOX_TRANSITION})",
        "MQK_OUTBOX_ILLEGAL_TRANSITION: illegal outbox status transition",
    ),
    (
        "trg_order_outbox_key_immutable",
        "order_outbox",
        "BEFORE UPDATE",
        _changed("idempotency_key", "run_id", "payload_json"),
        "MQK_OUTBOX_IMMUTABLE: key, run and payload of an outbox entry never change",
    ),
    (
        "trg_broker_inbox_applied_once",
        "broker_inbox",
        "BEFORE UPDATE",
        "(OLD.applied AND NOT NEW.applied) OR "
        + _changed("broker_message_id", "run_id", "payload_json"),
        "MQK_INBOX_IMMUTABLE: an applied message stays applied; id and payload never change",
    ),
)


def upgrade() -> None:
    """Create the tables, the partial unique index and the guard triggers."""
    _create_tables()
    for name, table, timing, condition, message in _RULES:
        create_rule(name, table, timing, condition, message)


def downgrade() -> None:
    """Drop the triggers and every table."""
    for name, table, _timing, _condition, _message in reversed(_RULES):
        drop_rule(name, table)
    op.drop_table("arm_state")
    op.drop_table("reconcile_checkpoints")
    op.drop_table("broker_inbox")
    op.drop_table("order_outbox")
    op.drop_table("audit_events")
    with op.batch_alter_table("runs") as batch:
        batch.drop_index("ix_runs_engine_id_status")
        batch.drop_index("uq_runs_one_active_live_per_engine")
    op.drop_table("runs")


def _create_tables() -> None:
    op.create_table(
        "runs",
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("engine_id", sa.String(16), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("shadow", sa.Boolean(create_constraint=False), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("config_hash", sa.String(64), nullable=False),
        sa.Column("config_json", sa.Text(), nullable=False),
        sa.Column("git_revision", sa.String(64), nullable=False),
        sa.Column("host_fingerprint", sa.String(64), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("armed_at", _TS, nullable=True),
        sa.Column("started_at", _TS, nullable=True),
        sa.Column("halted_at", _TS, nullable=True),
        sa.Column("stopped_at", _TS, nullable=True),
        sa.Column("last_heartbeat_at", _TS, nullable=True),
        sa.Column("halt_reason", sa.Text(), nullable=True),
        sa.CheckConstraint("mode IN ('BACKTEST', 'PAPER', 'LIVE')", name=op.f("ck_runs_mode")),
        sa.CheckConstraint(
            "status IN ('CREATED', 'ARMED', 'RUNNING', 'HALTED', 'STOPPED')",
            name=op.f("ck_runs_status"),
        ),
        sa.CheckConstraint("length(config_hash) = 64", name=op.f("ck_runs_config_hash_len")),
        sa.CheckConstraint("length(engine_id) > 0", name=op.f("ck_runs_engine_id_nonempty")),
        sa.CheckConstraint(
            "(halted_at IS NULL AND halt_reason IS NULL) "
            "OR (halted_at IS NOT NULL AND halt_reason IS NOT NULL)",
            name=op.f("ck_runs_halt_reason"),
        ),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_runs")),
    )
    with op.batch_alter_table("runs") as batch:
        batch.create_index(
            "uq_runs_one_active_live_per_engine",
            ["engine_id"],
            unique=True,
            postgresql_where=sa.text(_ACTIVE_LIVE),
            sqlite_where=sa.text(_ACTIVE_LIVE),
        )
        batch.create_index("ix_runs_engine_id_status", ["engine_id", "status"], unique=False)

    op.create_table(
        "audit_events",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("ts_utc", _TS, nullable=False),
        sa.Column("topic", sa.String(16), nullable=False),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("record_json", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.CheckConstraint(
            "topic IN ('MARKET', 'STRATEGY', 'OMS', 'RISK', 'BROKER', 'LEDGER', 'RECON', "
            "'RUNTIME', 'AUDIT')",
            name=op.f("ck_audit_events_topic"),
        ),
        sa.CheckConstraint("seq >= 1", name=op.f("ck_audit_events_seq_positive")),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.run_id"], name=op.f("fk_audit_events_run_id_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
        sa.UniqueConstraint("hash", name=op.f("uq_audit_events_hash")),
        sa.UniqueConstraint("run_id", "seq", name=op.f("uq_audit_events_run_id_seq")),
    )

    op.create_table(
        "order_outbox",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("idempotency_key", sa.String(128), nullable=False),
        sa.Column("payload_json", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("broker_order_id", sa.String(128), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.CheckConstraint(
            "status IN ('PENDING', 'SENT', 'ACKED', 'FAILED', 'AMBIGUOUS')",
            name=op.f("ck_order_outbox_status"),
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.run_id"], name=op.f("fk_order_outbox_run_id_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_outbox")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_order_outbox_idempotency_key")),
    )
    with op.batch_alter_table("order_outbox") as batch:
        batch.create_index("ix_order_outbox_run_id_status", ["run_id", "status"], unique=False)

    op.create_table(
        "broker_inbox",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("broker_message_id", sa.String(128), nullable=False),
        sa.Column("payload_json", sa.Text(), nullable=False),
        sa.Column("received_at", _TS, nullable=False),
        sa.Column("applied", sa.Boolean(create_constraint=False), nullable=False),
        sa.Column("applied_at", _TS, nullable=True),
        sa.CheckConstraint(
            "(applied AND applied_at IS NOT NULL) OR (NOT applied AND applied_at IS NULL)",
            name=op.f("ck_broker_inbox_applied_at"),
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.run_id"], name=op.f("fk_broker_inbox_run_id_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broker_inbox")),
        sa.UniqueConstraint("broker_message_id", name=op.f("uq_broker_inbox_broker_message_id")),
    )

    op.create_table(
        "reconcile_checkpoints",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("engine_id", sa.String(16), nullable=False),
        sa.Column("run_id", sa.Uuid(), nullable=True),
        sa.Column("captured_at", _TS, nullable=False),
        sa.Column("recorded_at", _TS, nullable=False),
        sa.Column("result", sa.String(16), nullable=False),
        sa.Column("diff_summary_json", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "result IN ('CLEAN', 'WARN', 'CRITICAL')", name=op.f("ck_reconcile_checkpoints_result")
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.run_id"], name=op.f("fk_reconcile_checkpoints_run_id_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconcile_checkpoints")),
    )
    with op.batch_alter_table("reconcile_checkpoints") as batch:
        batch.create_index(
            "ix_reconcile_checkpoints_engine_id_captured_at",
            ["engine_id", "captured_at"],
            unique=False,
        )

    op.create_table(
        "arm_state",
        sa.Column("engine_id", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("run_id", sa.Uuid(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.CheckConstraint("state IN ('ARMED', 'DISARMED')", name=op.f("ck_arm_state_state")),
        sa.CheckConstraint(
            "state <> 'ARMED' OR run_id IS NOT NULL", name=op.f("ck_arm_state_armed_has_run")
        ),
        sa.ForeignKeyConstraint(["run_id"], ["runs.run_id"], name=op.f("fk_arm_state_run_id_runs")),
        sa.PrimaryKeyConstraint("engine_id", name=op.f("pk_arm_state")),
    )
