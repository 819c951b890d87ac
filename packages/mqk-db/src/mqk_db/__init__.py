"""mqk_db: SQLAlchemy models, Alembic migrations and the run lifecycle.

The database is SQLite by default (``./.mqk/mqk.db``) and PostgreSQL in production; one
migration set, shipped in this package, serves both. The rules that keep trading safe (legal
run transitions, at most one active LIVE run per engine, append-only audit, the outbox state
machine) are enforced by the database itself, and again by the typed API here. Every function
takes the time it needs as an argument; none reads the clock. ``Engine`` is SQLAlchemy's
engine type, re-exported so callers can annotate what :func:`make_engine` returns.
"""

from sqlalchemy import Engine

from mqk_db._audit import append_audit_event, audit_events, verify_run_audit
from mqk_db._connect import (
    DATABASE_URL_ENV,
    DEFAULT_SQLITE_PATH,
    database_url,
    make_engine,
    normalise_url,
    redact_url,
    sqlite_file,
)
from mqk_db._lifecycle import (
    arm_run,
    begin_run,
    create_run,
    get_run,
    halt_run,
    halt_stale_runs,
    heartbeat_run,
    list_runs,
    stale_runs,
    start_backtest_run,
    stop_run,
)
from mqk_db._migrate import (
    MigrationReport,
    active_live_run_ids,
    alembic_config,
    current_revision,
    downgrade,
    head_revision,
    migrate,
    schema_diff,
)
from mqk_db._models import (
    NAMING_CONVENTION,
    ArmStateRow,
    AuditEventRow,
    Base,
    BrokerInboxRow,
    OrderOutboxRow,
    PaperJournalRow,
    ReconcileCheckpointRow,
    RunRow,
    RuntimeStateRow,
)
from mqk_db._outbox import (
    OUTBOX_TRANSITIONS,
    enqueue_order,
    inbox_messages,
    mark_inbox_applied,
    outbox_entries,
    receive_broker_message,
    update_outbox_status,
)
from mqk_db._preflight import (
    ARM_PHRASE_TEMPLATE,
    ArmingInputs,
    arm_phrase,
    evaluate_arming,
    evaluate_begin,
)
from mqk_db._provenance import git_revision, host_fingerprint
from mqk_db._reconcile import disarm_engine, get_arm_state, latest_reconcile, record_reconcile
from mqk_db._records import (
    ArmState,
    AuditEvent,
    InboxMessage,
    OutboxEntry,
    ReconcileCheckpoint,
    RunRecord,
    RunSpec,
)
from mqk_db.errors import (
    DatabaseUnavailableError,
    DbError,
    DbInputError,
    IllegalTransition,
    LiveRunAlreadyActive,
    MigrationRefusedError,
    OutboxError,
    OutOfOrderSnapshotError,
    PreflightFailed,
    RunNotFound,
    SafetyRefusalError,
)

__version__ = "0.1.0"

__all__ = [
    "ARM_PHRASE_TEMPLATE",
    "DATABASE_URL_ENV",
    "DEFAULT_SQLITE_PATH",
    "NAMING_CONVENTION",
    "OUTBOX_TRANSITIONS",
    "ArmState",
    "ArmStateRow",
    "ArmingInputs",
    "AuditEvent",
    "AuditEventRow",
    "Base",
    "BrokerInboxRow",
    "DatabaseUnavailableError",
    "DbError",
    "DbInputError",
    "Engine",
    "IllegalTransition",
    "InboxMessage",
    "LiveRunAlreadyActive",
    "MigrationRefusedError",
    "MigrationReport",
    "OrderOutboxRow",
    "OutOfOrderSnapshotError",
    "OutboxEntry",
    "OutboxError",
    "PaperJournalRow",
    "PreflightFailed",
    "ReconcileCheckpoint",
    "ReconcileCheckpointRow",
    "RunNotFound",
    "RunRecord",
    "RunRow",
    "RunSpec",
    "RuntimeStateRow",
    "SafetyRefusalError",
    "__version__",
    "active_live_run_ids",
    "alembic_config",
    "append_audit_event",
    "arm_phrase",
    "arm_run",
    "audit_events",
    "begin_run",
    "create_run",
    "current_revision",
    "database_url",
    "disarm_engine",
    "downgrade",
    "enqueue_order",
    "evaluate_arming",
    "evaluate_begin",
    "get_arm_state",
    "get_run",
    "git_revision",
    "halt_run",
    "halt_stale_runs",
    "head_revision",
    "heartbeat_run",
    "host_fingerprint",
    "inbox_messages",
    "latest_reconcile",
    "list_runs",
    "make_engine",
    "mark_inbox_applied",
    "migrate",
    "normalise_url",
    "outbox_entries",
    "receive_broker_message",
    "record_reconcile",
    "redact_url",
    "schema_diff",
    "sqlite_file",
    "stale_runs",
    "start_backtest_run",
    "stop_run",
    "update_outbox_status",
    "verify_run_audit",
]
