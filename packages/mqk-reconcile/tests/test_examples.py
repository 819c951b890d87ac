"""The shipped example snapshots: the clean one is CLEAN, the dirty one shows every diff kind."""

from __future__ import annotations

from decimal import Decimal

from reconcile_support import DATA, coid, example_internal_state

from mqk_reconcile import (
    CancelOrder,
    DiffKind,
    PlaceProtectiveStop,
    Reconciler,
    ReconcileResult,
    ReconcileStatus,
    Severity,
    load_snapshot,
    reconcile,
)
from mqk_schemas import Action, Side, TimeInForce

K, S = DiffKind, Severity


def scenario_clean_example_snapshot_is_clean_and_ignores_foreign_orders() -> None:
    result = reconcile(
        "MAIN", load_snapshot(DATA / "clean_snapshot.json"), example_internal_state()
    )
    assert (result.status, result.decision.action) == (ReconcileStatus.CLEAN, Action.ALLOW)
    assert result.diffs == ()
    assert result.repairs == ()
    assert result.ignored_client_order_ids == (coid(1, "EXP"), "manual-7f3a")
    assert (result.orders_compared, result.fills_compared) == (3, 2)


def scenario_dirty_example_snapshot_disarms_with_every_diff_listed() -> None:
    result = reconcile(
        "MAIN", load_snapshot(DATA / "dirty_snapshot.json"), example_internal_state()
    )
    assert (result.status, result.decision.action) == (ReconcileStatus.CRITICAL, Action.DISARM)
    assert [
        (d.severity, d.kind, d.symbol, d.ref, d.field, d.broker, d.internal) for d in result.diffs
    ] == [
        (S.CRITICAL, K.UNKNOWN_BROKER_ORDER, "AAPL", coid(9), "status", "PARTIALLY_FILLED", None),
        (S.CRITICAL, K.FILL_MISSING_AT_BROKER, "AAPL", "F-1b", "quantity", None, "4"),
        (S.CRITICAL, K.FILL_FIELD_DRIFT, "AAPL", "F-1a", "price", "190.55", "190.5"),
        (S.CRITICAL, K.POSITION_MISMATCH, "AAPL", None, "quantity", "12", "10"),
        (S.WARN, K.MISSING_INTERNAL_ORDER, "MSFT", coid(3), "status", None, "SUBMITTED"),
        (S.WARN, K.ORDER_FIELD_DRIFT, "AAPL", coid(2), "status", "CANCELED", "SUBMITTED"),
        (S.WARN, K.FILL_NOT_APPLIED, "AAPL", "F-9a", "quantity", "2", None),
        (S.WARN, K.MISSING_PROTECTIVE_STOP, "AAPL", None, "protective_stop_quantity", "0", "12"),
        (S.INFO, K.UNKNOWN_BROKER_ORDER, "NVDA", coid(8), "status", "CANCELED", None),
    ]
    assert list(result.repairs) == [
        CancelOrder(
            engine_id="MAIN",
            client_order_id=coid(9),
            symbol="AAPL",
            broker_order_id="b-9",
            reason=DiffKind.UNKNOWN_BROKER_ORDER,
        ),
        PlaceProtectiveStop(
            engine_id="MAIN",
            client_order_id=coid(2) + "_R1",
            symbol="AAPL",
            side=Side.SELL,
            quantity=Decimal(12),
            stop_price=Decimal(180),
            time_in_force=TimeInForce.GTC,
            replaces=coid(2),
            reason=DiffKind.MISSING_PROTECTIVE_STOP,
        ),
    ]
    assert result.ignored_client_order_ids == (coid(1, "EXP"), coid(2, "EXP"), "manual-7f3a")


def scenario_reconciler_accepts_clean_then_dirty_then_refuses_clean_again() -> None:
    clean = load_snapshot(DATA / "clean_snapshot.json")
    dirty = load_snapshot(DATA / "dirty_snapshot.json")
    reconciler = Reconciler()
    outcomes = [
        reconciler.check("MAIN", s, example_internal_state()) for s in (clean, dirty, clean)
    ]
    assert [
        o.status.value if isinstance(o, ReconcileResult) else o.reason_code for o in outcomes
    ] == ["CLEAN", "CRITICAL", "SNAPSHOT_NOT_MONOTONIC"]
