"""mqk_reconcile: broker snapshot vs internal state reconciliation.

:func:`reconcile` diffs a :class:`mqk_schemas.BrokerSnapshot` against an :class:`InternalState`
(ledger positions, OMS orders, applied fills, protective stops) and returns a
:class:`ReconcileResult`: diffs most severe first, a status CLEAN / WARN / CRITICAL, the gate
decision (ALLOW / HALT_NEW / DISARM) and repair actions for orders provably ours.
:class:`Reconciler` adds the per-engine monotonic snapshot guard; :func:`load_snapshot` reads a
snapshot file with exact money and UTC timestamps.
"""

from mqk_reconcile._diff import DiffKind, ReconcileDiff, Severity
from mqk_reconcile._engine import reconcile
from mqk_reconcile._reconciler import Reconciler, SnapshotCheckpoint
from mqk_reconcile._repair import (
    CancelOrder,
    PlaceProtectiveStop,
    RepairAction,
    replacement_client_order_id,
)
from mqk_reconcile._result import (
    SNAPSHOT_NOT_MONOTONIC,
    ReconcileRefusal,
    ReconcileResult,
    ReconcileStatus,
    status_of,
)
from mqk_reconcile._snapshot import check_snapshot, load_snapshot, parse_snapshot, snapshot_digest
from mqk_reconcile._state import InternalState, ReconcileConfig
from mqk_reconcile.errors import (
    FieldProblem,
    InternalStateError,
    ReconcileError,
    ReconcileInputError,
    SnapshotInvalidError,
    SnapshotLoadError,
)

__version__ = "0.1.0"

__all__ = [
    "SNAPSHOT_NOT_MONOTONIC",
    "CancelOrder",
    "DiffKind",
    "FieldProblem",
    "InternalState",
    "InternalStateError",
    "PlaceProtectiveStop",
    "ReconcileConfig",
    "ReconcileDiff",
    "ReconcileError",
    "ReconcileInputError",
    "ReconcileRefusal",
    "ReconcileResult",
    "ReconcileStatus",
    "Reconciler",
    "RepairAction",
    "Severity",
    "SnapshotCheckpoint",
    "SnapshotInvalidError",
    "SnapshotLoadError",
    "__version__",
    "check_snapshot",
    "load_snapshot",
    "parse_snapshot",
    "reconcile",
    "replacement_client_order_id",
    "snapshot_digest",
    "status_of",
]
