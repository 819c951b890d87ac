"""Exceptions raised by :mod:`mqk_db`.

::

    DbError                             base of every error raised here
    ├── DbInputError                    bad input (URL, run spec, reason, ...); nothing written
    ├── RunNotFound                     no run with that id
    ├── DatabaseUnavailableError        the database cannot be opened or migrated
    ├── SafetyRefusalError              a safety rule refused the request; nothing written
    │   ├── IllegalTransition           the run's state does not allow the transition
    │   ├── LiveRunAlreadyActive        another LIVE run of the engine is ARMED or RUNNING
    │   ├── PreflightFailed             arming/start checks failed (every failure listed)
    │   ├── MigrationRefusedError       migrating while a LIVE run is active, no consent
    │   └── OutOfOrderSnapshotError     a reconcile snapshot older than the engine's latest
    └── OutboxError                     an outbox/inbox operation broke its state machine

Every error carries a machine-readable ``reason_code``; refusals also carry typed evidence.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from mqk_schemas import Decision

__all__ = [
    "DatabaseUnavailableError",
    "DbError",
    "DbInputError",
    "IllegalTransition",
    "LiveRunAlreadyActive",
    "MigrationRefusedError",
    "OutOfOrderSnapshotError",
    "OutboxError",
    "PreflightFailed",
    "RunNotFound",
    "SafetyRefusalError",
]


class DbError(Exception):
    """Base class of every error raised by mqk_db."""

    reason_code: str = "DB_ERROR"

    def __init__(self, message: str, evidence: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.evidence: dict[str, Any] = dict(evidence or {})


class DbInputError(DbError, ValueError):
    """Bad input: the message names the field and the rule; nothing was written."""

    reason_code = "DB_INVALID_INPUT"


class RunNotFound(DbError, LookupError):  # noqa: N818 - name fixed by the issue
    """No run has the given id."""

    reason_code = "RUN_NOT_FOUND"

    def __init__(self, run_id: uuid.UUID) -> None:
        super().__init__(f"run {run_id} does not exist", {"run_id": str(run_id)})
        self.run_id = run_id


class DatabaseUnavailableError(DbError):
    """The database could not be reached, opened or migrated (the URL is shown redacted)."""

    reason_code = "DB_UNAVAILABLE"


class SafetyRefusalError(DbError):
    """A safety rule refused the request; the database is unchanged."""

    reason_code = "REFUSED"


class IllegalTransition(SafetyRefusalError):  # noqa: N818 - name fixed by the issue
    """The run's current status does not allow the requested transition."""

    reason_code = "RUN_ILLEGAL_TRANSITION"

    def __init__(
        self, run_id: uuid.UUID, current: str, requested: str, message: str | None = None
    ) -> None:
        super().__init__(
            message or f"run {run_id} is {current}; {current} -> {requested} is not legal",
            {"run_id": str(run_id), "from": current, "to": requested},
        )
        self.run_id = run_id
        self.current = current
        self.requested = requested


class LiveRunAlreadyActive(SafetyRefusalError):  # noqa: N818 - name fixed by the issue
    """Another LIVE run of the same engine is ARMED or RUNNING; it is named in the error."""

    reason_code = "LIVE_RUN_ALREADY_ACTIVE"

    def __init__(self, engine_id: str, active_run_id: uuid.UUID, active_status: str) -> None:
        super().__init__(
            f"engine {engine_id} already has LIVE run {active_run_id} in {active_status}; "
            "stop or halt it first",
            {
                "engine_id": engine_id,
                "active_run_id": str(active_run_id),
                "active_status": active_status,
            },
        )
        self.engine_id = engine_id
        self.active_run_id = active_run_id
        self.active_status = active_status


class PreflightFailed(SafetyRefusalError):  # noqa: N818 - name fixed by the issue
    """One or more preflight checks failed; ``failures`` lists every one of them."""

    reason_code = "PREFLIGHT_FAILED"

    def __init__(self, run_id: uuid.UUID, stage: str, failures: Sequence[Decision]) -> None:
        codes = ", ".join(d.reason_code for d in failures)
        super().__init__(
            f"{stage} preflight of run {run_id} failed {len(failures)} check(s): {codes}",
            {"run_id": str(run_id), "stage": stage, "failed": [d.reason_code for d in failures]},
        )
        self.run_id = run_id
        self.stage = stage
        self.failures: tuple[Decision, ...] = tuple(failures)


class MigrationRefusedError(SafetyRefusalError):
    """Migrating was refused because LIVE runs are active and consent was not given."""

    reason_code = "MIGRATION_REFUSED_LIVE_ACTIVE"

    def __init__(self, active_run_ids: Sequence[uuid.UUID]) -> None:
        ids = [str(r) for r in active_run_ids]
        super().__init__(
            f"{len(ids)} LIVE run(s) are ARMED or RUNNING ({', '.join(ids)}); "
            "migrating now needs explicit consent",
            {"active_run_ids": ids},
        )
        self.active_run_ids = tuple(active_run_ids)


class OutOfOrderSnapshotError(SafetyRefusalError):
    """A reconcile snapshot was older than the latest one recorded for the engine."""

    reason_code = "RECONCILE_SNAPSHOT_OUT_OF_ORDER"


class OutboxError(DbError):
    """An outbox or inbox operation broke its state machine or named an unknown entry."""

    reason_code = "OUTBOX_ERROR"
