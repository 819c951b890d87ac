"""Diff severities fold into CLEAN / WARN / CRITICAL, and each status into one gate decision."""

from __future__ import annotations

import json

import pytest
from reconcile_support import coid, order, snapshot, state

from mqk_reconcile import (
    DiffKind,
    InternalState,
    ReconcileConfig,
    ReconcileDiff,
    ReconcileStatus,
    Severity,
    reconcile,
    status_of,
)
from mqk_schemas import Action, BrokerSnapshot, OrderStatus

NO_STOPS = ReconcileConfig(require_protective_stop=False)


def _diff(severity: Severity) -> ReconcileDiff:
    return ReconcileDiff(kind=DiffKind.POSITION_MISMATCH, severity=severity, message="x")


@pytest.mark.parametrize(
    ("severities", "status"),
    [
        ((), ReconcileStatus.CLEAN),
        ((Severity.INFO,), ReconcileStatus.CLEAN),
        ((Severity.INFO, Severity.WARN), ReconcileStatus.WARN),
        ((Severity.WARN, Severity.WARN), ReconcileStatus.WARN),
        ((Severity.WARN, Severity.CRITICAL, Severity.INFO), ReconcileStatus.CRITICAL),
    ],
)
def unit_status_is_the_worst_severity_and_info_is_clean(
    severities: tuple[Severity, ...], status: ReconcileStatus
) -> None:
    assert status_of(_diff(s) for s in severities) is status


@pytest.mark.parametrize(
    ("snap", "internal", "status", "action", "reason_code"),
    [
        (snapshot(), state(), ReconcileStatus.CLEAN, Action.ALLOW, "RECON_CLEAN"),
        (
            snapshot(orders=(order(5, status=OrderStatus.CANCELED),)),
            state(),
            ReconcileStatus.CLEAN,
            Action.ALLOW,
            "RECON_CLEAN",
        ),
        (
            snapshot(),
            state(orders=(order(1),)),
            ReconcileStatus.WARN,
            Action.HALT_NEW,
            "RECON_WARN",
        ),
        (
            snapshot(positions={"AAPL": "1"}),
            state(),
            ReconcileStatus.CRITICAL,
            Action.DISARM,
            "RECON_CRITICAL",
        ),
    ],
    ids=["nothing", "info only", "warn", "critical"],
)
def unit_status_maps_to_allow_halt_new_or_disarm(
    snap: BrokerSnapshot,
    internal: InternalState,
    status: ReconcileStatus,
    action: Action,
    reason_code: str,
) -> None:
    result = reconcile("MAIN", snap, internal, NO_STOPS)
    assert (result.status, result.decision.action, result.decision.reason_code) == (
        status,
        action,
        reason_code,
    )
    assert result.clean is (status is ReconcileStatus.CLEAN)


def unit_decision_evidence_counts_and_labels_every_diff() -> None:
    result = reconcile(
        "MAIN",
        snapshot(orders=(order(5),), positions={"AAPL": "3"}),
        state(orders=(order(1),)),
        NO_STOPS,
    )
    assert result.decision.evidence == {
        "engine_id": "MAIN",
        "captured_at": "2024-03-01T21:00:00Z",
        "counts": {"INFO": 0, "WARN": 1, "CRITICAL": 2},
        "diffs": [
            f"CRITICAL UNKNOWN_BROKER_ORDER AAPL {coid(5)} status",
            "CRITICAL POSITION_MISMATCH AAPL quantity",
            f"WARN MISSING_INTERNAL_ORDER AAPL {coid(1)} status",
        ],
    }
    assert result.decision.message == (
        "reconcile MAIN @ 2024-03-01T21:00:00Z: CRITICAL (2 critical, 1 warn, 0 info)"
    )


def unit_summary_is_plain_json() -> None:
    result = reconcile("MAIN", snapshot(orders=(order(5),)), state(), NO_STOPS)
    summary = result.summary()
    assert json.loads(json.dumps(summary)) == summary
    assert summary["status"] == "CRITICAL"
    assert summary["decision"]["action"] == "DISARM"
    assert summary["counts"] == {"INFO": 0, "WARN": 0, "CRITICAL": 1}
    assert summary["repairs"] == [
        {
            "engine_id": "MAIN",
            "client_order_id": coid(5),
            "symbol": "AAPL",
            "reason": "UNKNOWN_BROKER_ORDER",
            "kind": "CANCEL_ORDER",
            "broker_order_id": None,
        }
    ]


def unit_missing_stop_severity_cannot_be_info() -> None:
    with pytest.raises(ValueError, match="WARN or CRITICAL, never INFO"):
        ReconcileConfig(missing_stop_severity=Severity.INFO)
