"""``reconcile``: the pure diff of one broker snapshot against the engine's internal state."""

from __future__ import annotations

import re
from decimal import Decimal

from mqk_reconcile._diff import ReconcileDiff
from mqk_reconcile._protection import check_protective_stops
from mqk_reconcile._repair import RepairAction
from mqk_reconcile._result import ReconcileResult, decision_for, status_of
from mqk_reconcile._rules import diff_fills, diff_orders, diff_positions
from mqk_reconcile._snapshot import check_snapshot, snapshot_digest
from mqk_reconcile._state import InternalState, ReconcileConfig
from mqk_reconcile.errors import FieldProblem, InternalStateError, ReconcileInputError
from mqk_schemas import ENGINE_ID_PATTERN, BrokerSnapshot, engine_of_client_order_id

__all__ = ["reconcile"]

_ENGINE_RE = re.compile(ENGINE_ID_PATTERN)


def _check_internal(engine_id: str, internal: InternalState) -> None:
    problems = [
        FieldProblem(f"orders[{i}].client_order_id", f"{o.client_order_id!r} is not {engine_id}'s")
        for i, o in enumerate(internal.orders)
        if engine_of_client_order_id(o.client_order_id) != engine_id
    ]
    problems += [
        FieldProblem(f"fills[{i}].client_order_id", f"{f.client_order_id!r} is not {engine_id}'s")
        for i, f in enumerate(internal.fills)
        if engine_of_client_order_id(f.client_order_id) != engine_id
    ]
    if problems:
        raise InternalStateError(f"internal state of engine {engine_id}", problems)


def reconcile(
    engine_id: str,
    snapshot: BrokerSnapshot,
    internal: InternalState,
    config: ReconcileConfig | None = None,
) -> ReconcileResult:
    """Diff ``snapshot`` against ``internal`` for ``engine_id``.

    Only broker orders whose client_order_id is in the engine's namespace are compared (others
    are listed in ``ignored_client_order_ids``); broker fills are compared when they are ours or
    share an id with a ledger fill; positions are compared account-wide. Pure and deterministic:
    the order of inputs does not change the result. Needs no arming state, so it runs disarmed.

    Raises :class:`ReconcileInputError` for an invalid engine id, :class:`SnapshotInvalidError`
    for a snapshot listing an id twice and :class:`InternalStateError` for internal orders or
    fills outside the namespace.
    """
    if not _ENGINE_RE.match(engine_id):
        raise ReconcileInputError(
            "reconcile", [FieldProblem("engine_id", f"{engine_id!r} is not an upper-case token")]
        )
    config = config or ReconcileConfig()
    check_snapshot(snapshot)
    _check_internal(engine_id, internal)

    ours = tuple(
        o for o in snapshot.orders if engine_of_client_order_id(o.client_order_id) == engine_id
    )
    ignored = tuple(
        sorted(
            o.client_order_id
            for o in snapshot.orders
            if engine_of_client_order_id(o.client_order_id) != engine_id
        )
    )
    applied_ids = {f.broker_fill_id for f in internal.fills}
    fills = tuple(
        f
        for f in snapshot.fills
        if engine_of_client_order_id(f.client_order_id) == engine_id
        or f.broker_fill_id in applied_ids
    )
    positions: dict[str, Decimal] = {p.symbol: p.quantity for p in snapshot.positions}

    order_diffs, cancels = diff_orders(engine_id, ours, internal)
    fill_diffs, fills_compared = diff_fills(fills, internal)
    stop_diffs, places = check_protective_stops(
        engine_id,
        positions,
        {o.client_order_id: o for o in ours},
        {o.client_order_id for o in snapshot.orders},
        internal,
        config,
    )
    diffs: tuple[ReconcileDiff, ...] = tuple(
        sorted(
            [*order_diffs, *fill_diffs, *diff_positions(positions, internal), *stop_diffs],
            key=ReconcileDiff.sort_key,
        )
    )
    repairs: tuple[RepairAction, ...] = tuple(
        sorted([*cancels, *places], key=lambda r: (r.kind, r.symbol, r.client_order_id))
    )
    return ReconcileResult(
        engine_id=engine_id,
        captured_at=snapshot.captured_at,
        snapshot_sha256=snapshot_digest(snapshot),
        status=status_of(diffs),
        decision=decision_for(engine_id, snapshot.captured_at, diffs),
        diffs=diffs,
        repairs=repairs,
        ignored_client_order_ids=ignored,
        orders_compared=len(ours),
        fills_compared=fills_compared,
    )
