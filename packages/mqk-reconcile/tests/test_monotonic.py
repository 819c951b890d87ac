"""Snapshots are monotonic per engine; a refusal is typed and changes nothing."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from reconcile_support import T0, order, snapshot, state

from mqk_reconcile import (
    SNAPSHOT_NOT_MONOTONIC,
    Reconciler,
    ReconcileRefusal,
    ReconcileResult,
    SnapshotCheckpoint,
    SnapshotInvalidError,
    snapshot_digest,
)
from mqk_schemas import Action, Topic

LATER = T0 + timedelta(minutes=1)
EARLIER = T0 - timedelta(minutes=1)


def _refused(outcome: ReconcileResult | ReconcileRefusal) -> ReconcileRefusal:
    assert isinstance(outcome, ReconcileRefusal)
    return outcome


def invariant_an_older_snapshot_is_refused_and_changes_nothing() -> None:
    reconciler = Reconciler()
    assert reconciler.last_captured_at("MAIN") is None
    assert isinstance(reconciler.check("MAIN", snapshot(captured_at=T0), state()), ReconcileResult)

    refusal = _refused(reconciler.check("MAIN", snapshot(captured_at=EARLIER), state()))

    assert refusal.reason_code == SNAPSHOT_NOT_MONOTONIC
    assert refusal.decision.action is Action.REJECT
    assert refusal.decision.evidence == {
        "engine_id": "MAIN",
        "captured_at": "2024-03-01T20:59:00Z",
        "last_captured_at": "2024-03-01T21:00:00Z",
        "snapshot_sha256": snapshot_digest(snapshot(captured_at=EARLIER)),
        "rule": "older than the last snapshot used",
    }
    assert reconciler.last_captured_at("MAIN") == T0
    assert isinstance(
        reconciler.check("MAIN", snapshot(captured_at=LATER), state()), ReconcileResult
    )
    assert reconciler.last_captured_at("MAIN") == LATER


def invariant_an_identical_snapshot_may_be_rechecked_against_newer_state() -> None:
    reconciler = Reconciler()
    first = reconciler.check("MAIN", snapshot(orders=(order(1), order(2))), state())
    # the same content listed in another order is the same snapshot
    again = reconciler.check(
        "MAIN", snapshot(orders=(order(2), order(1))), state(orders=(order(1), order(2)))
    )
    assert isinstance(first, ReconcileResult)
    assert isinstance(again, ReconcileResult)
    assert (first.status.value, again.status.value) == ("CRITICAL", "CLEAN")


def invariant_a_different_snapshot_at_the_same_instant_is_refused() -> None:
    reconciler = Reconciler()
    reconciler.check("MAIN", snapshot(captured_at=T0), state())
    refusal = _refused(reconciler.check("MAIN", snapshot(orders=(order(1),)), state()))
    assert refusal.decision.evidence["rule"] == (
        "same captured_at as the last snapshot used but different content"
    )


def invariant_snapshot_order_is_tracked_per_engine() -> None:
    reconciler = Reconciler()
    reconciler.check("MAIN", snapshot(captured_at=LATER), state())
    exp = reconciler.check("EXP", snapshot(captured_at=T0), state())
    assert isinstance(exp, ReconcileResult)
    assert (reconciler.last_captured_at("MAIN"), reconciler.last_captured_at("EXP")) == (LATER, T0)


@pytest.mark.parametrize(
    ("checkpoint", "accepted"),
    [
        (SnapshotCheckpoint(captured_at=LATER), False),
        (SnapshotCheckpoint(captured_at=T0), False),
        (SnapshotCheckpoint(captured_at=T0, snapshot_sha256=snapshot_digest(snapshot())), True),
        (SnapshotCheckpoint(captured_at=EARLIER), True),
    ],
    ids=["resumed later", "same time, digest unknown", "same time, same digest", "resumed earlier"],
)
def invariant_a_resumed_checkpoint_keeps_the_guard(
    checkpoint: SnapshotCheckpoint, accepted: bool
) -> None:
    reconciler = Reconciler(checkpoints={"MAIN": checkpoint})
    outcome = reconciler.check("MAIN", snapshot(captured_at=T0), state())
    assert isinstance(outcome, ReconcileResult) is accepted


def fault_an_invalid_snapshot_leaves_the_checkpoint_untouched() -> None:
    reconciler = Reconciler()
    reconciler.check("MAIN", snapshot(captured_at=T0), state())
    before = reconciler.checkpoint("MAIN")
    with pytest.raises(SnapshotInvalidError):
        reconciler.check("MAIN", snapshot(orders=(order(1), order(1)), captured_at=LATER), state())
    assert reconciler.checkpoint("MAIN") == before


def unit_a_refusal_is_a_recon_event() -> None:
    reconciler = Reconciler()
    reconciler.check("MAIN", snapshot(captured_at=T0), state())
    refusal = _refused(reconciler.check("MAIN", snapshot(captured_at=EARLIER), state()))
    run = uuid.UUID("00000000-0000-4000-8000-000000000007")
    event = refusal.to_event(run_id=run, seq=3, ts_utc=T0)
    assert (event.topic, event.event_type, event.seq) == (Topic.RECON, "RECON_SNAPSHOT_REFUSED", 3)
    assert event.payload["reason_code"] == SNAPSHOT_NOT_MONOTONIC
    assert event.payload["refused"] is True
