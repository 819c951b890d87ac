"""Results: a status (CLEAN / WARN / CRITICAL), the gate decision, diffs and repairs."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Any

from mqk_reconcile._base import Frozen
from mqk_reconcile._diff import ReconcileDiff, Severity
from mqk_reconcile._repair import RepairAction
from mqk_schemas import (
    Action,
    Decision,
    EngineId,
    EventEnvelope,
    Topic,
    UtcDatetime,
    format_utc,
    make_event,
)

__all__ = [
    "SNAPSHOT_NOT_MONOTONIC",
    "ReconcileRefusal",
    "ReconcileResult",
    "ReconcileStatus",
    "decision_for",
    "not_monotonic",
    "status_of",
]

SNAPSHOT_NOT_MONOTONIC = "SNAPSHOT_NOT_MONOTONIC"


class ReconcileStatus(StrEnum):
    """Overall verdict: CLEAN (trade on), WARN (halt new orders), CRITICAL (disarm)."""

    CLEAN = "CLEAN"
    WARN = "WARN"
    CRITICAL = "CRITICAL"


_ACTION = {
    ReconcileStatus.CLEAN: Action.ALLOW,
    ReconcileStatus.WARN: Action.HALT_NEW,
    ReconcileStatus.CRITICAL: Action.DISARM,
}


def status_of(diffs: Iterable[ReconcileDiff]) -> ReconcileStatus:
    """CRITICAL if any diff is CRITICAL, else WARN if any is WARN, else CLEAN (INFO is clean)."""
    worst = max((d.severity.rank for d in diffs), default=Severity.INFO.rank)
    if worst >= Severity.CRITICAL.rank:
        return ReconcileStatus.CRITICAL
    if worst >= Severity.WARN.rank:
        return ReconcileStatus.WARN
    return ReconcileStatus.CLEAN


def _counts(diffs: Iterable[ReconcileDiff]) -> dict[str, int]:
    counts = {s.value: 0 for s in Severity}
    for diff in diffs:
        counts[diff.severity.value] += 1
    return counts


def decision_for(
    engine_id: str, captured_at: datetime, diffs: tuple[ReconcileDiff, ...]
) -> Decision:
    """The gate decision: CLEAN -> ALLOW, WARN -> HALT_NEW, CRITICAL -> DISARM."""
    status = status_of(diffs)
    counts = _counts(diffs)
    message = (
        f"reconcile {engine_id} @ {format_utc(captured_at)}: {status.value} "
        f"({counts['CRITICAL']} critical, {counts['WARN']} warn, {counts['INFO']} info)"
    )
    return Decision(
        action=_ACTION[status],
        reason_code=f"RECON_{status.value}",
        message=message,
        evidence={
            "engine_id": engine_id,
            "captured_at": format_utc(captured_at),
            "counts": counts,
            "diffs": [_label(d) for d in diffs],
        },
    )


def _label(diff: ReconcileDiff) -> str:
    parts = [diff.severity.value, diff.kind.value, diff.symbol, diff.ref, diff.field]
    return " ".join(p for p in parts if p)


class ReconcileResult(Frozen):
    """The outcome of one reconcile: diffs most severe first, repairs, status and decision.

    ``snapshot_sha256`` identifies the snapshot's content (order-independent, see
    :func:`~mqk_reconcile.snapshot_digest`); ``ignored_client_order_ids`` lists broker orders
    outside the engine's namespace (other engines, manual orders) that were not compared.
    """

    engine_id: EngineId
    captured_at: UtcDatetime
    snapshot_sha256: str
    status: ReconcileStatus
    decision: Decision
    diffs: tuple[ReconcileDiff, ...]
    repairs: tuple[RepairAction, ...]
    ignored_client_order_ids: tuple[str, ...]
    orders_compared: int
    fills_compared: int

    @property
    def clean(self) -> bool:
        """True when the status is CLEAN."""
        return self.status is ReconcileStatus.CLEAN

    def summary(self) -> dict[str, Any]:
        """Plain JSON-able dict (``json.dumps`` works as is; Decimals are exact strings)."""
        return {
            "engine_id": self.engine_id,
            "captured_at": format_utc(self.captured_at),
            "snapshot_sha256": self.snapshot_sha256,
            "status": self.status.value,
            "decision": {
                "action": self.decision.action.value,
                "reason_code": self.decision.reason_code,
                "message": self.decision.message,
            },
            "counts": _counts(self.diffs),
            "orders_compared": self.orders_compared,
            "fills_compared": self.fills_compared,
            "ignored_client_order_ids": list(self.ignored_client_order_ids),
            "diffs": [d.summary() for d in self.diffs],
            "repairs": [r.summary() for r in self.repairs],
        }

    def events(
        self, *, run_id: uuid.UUID, first_seq: int, ts_utc: datetime
    ) -> tuple[EventEnvelope, ...]:
        """RECON events: ``RECON_RESULT`` (the summary), then one event per repair.

        Events take consecutive seqs from ``first_seq``; each repair's ``causation_id`` is the
        result event's id and every event's ``correlation_id`` is the snapshot digest.
        """
        result = make_event(
            run_id=run_id,
            engine_id=self.engine_id,
            ts_utc=ts_utc,
            seq=first_seq,
            topic=Topic.RECON,
            event_type="RECON_RESULT",
            payload=self.summary(),
            correlation_id=self.snapshot_sha256,
        )
        repairs = tuple(
            repair.to_event(
                run_id=run_id,
                seq=first_seq + 1 + i,
                ts_utc=ts_utc,
                correlation_id=self.snapshot_sha256,
                causation_id=str(result.event_id),
            )
            for i, repair in enumerate(self.repairs)
        )
        return (result, *repairs)


class ReconcileRefusal(Frozen):
    """A snapshot refused before any diffing (reason ``SNAPSHOT_NOT_MONOTONIC``).

    Nothing changes: the last accepted snapshot and its result still stand. The decision is
    REJECT (the snapshot is rejected), with the rule and both timestamps as evidence.
    """

    engine_id: EngineId
    captured_at: UtcDatetime
    last_captured_at: UtcDatetime
    snapshot_sha256: str
    decision: Decision

    @property
    def reason_code(self) -> str:
        """Machine-readable reason (``SNAPSHOT_NOT_MONOTONIC``)."""
        return self.decision.reason_code

    def summary(self) -> dict[str, Any]:
        """Plain JSON-able dict."""
        return {
            "engine_id": self.engine_id,
            "refused": True,
            "reason_code": self.decision.reason_code,
            "message": self.decision.message,
            "evidence": dict(self.decision.evidence),
        }

    def to_event(self, *, run_id: uuid.UUID, seq: int, ts_utc: datetime) -> EventEnvelope:
        """The ``RECON_SNAPSHOT_REFUSED`` event recording this refusal."""
        return make_event(
            run_id=run_id,
            engine_id=self.engine_id,
            ts_utc=ts_utc,
            seq=seq,
            topic=Topic.RECON,
            event_type="RECON_SNAPSHOT_REFUSED",
            payload=self.summary(),
            correlation_id=self.snapshot_sha256,
        )


def not_monotonic(
    engine_id: str,
    captured_at: datetime,
    last_captured_at: datetime,
    snapshot_sha256: str,
    rule: str,
) -> ReconcileRefusal:
    """Build the refusal of a snapshot that is not newer than the last one used."""
    message = (
        f"snapshot for {engine_id} captured at {format_utc(captured_at)} refused: {rule} "
        f"(last snapshot used was captured at {format_utc(last_captured_at)})"
    )
    decision = Decision(
        action=Action.REJECT,
        reason_code=SNAPSHOT_NOT_MONOTONIC,
        message=message,
        evidence={
            "engine_id": engine_id,
            "captured_at": format_utc(captured_at),
            "last_captured_at": format_utc(last_captured_at),
            "snapshot_sha256": snapshot_sha256,
            "rule": rule,
        },
    )
    return ReconcileRefusal(
        engine_id=engine_id,
        captured_at=captured_at,
        last_captured_at=last_captured_at,
        snapshot_sha256=snapshot_sha256,
        decision=decision,
    )
