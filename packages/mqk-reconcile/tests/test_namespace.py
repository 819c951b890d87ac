"""Only the engine's client_order_id namespace is compared and repaired."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from reconcile_support import coid, fill, order, snapshot, state, stop

from mqk_reconcile import (
    CancelOrder,
    DiffKind,
    InternalStateError,
    PlaceProtectiveStop,
    ReconcileConfig,
    ReconcileInputError,
    SnapshotInvalidError,
    reconcile,
)
from mqk_schemas import OrderStatus

NO_STOPS = ReconcileConfig(require_protective_stop=False)
FOREIGN = (
    order(1, engine_id="EXP", client_order_id=coid(1, "EXP")),
    order(2, engine_id="MANUAL", client_order_id="manual-1"),
    order(3, engine_id="MANUAL", client_order_id="main_lowercase_is_not_main"),
    order(4, engine_id="MAIN", client_order_id="MAINX_1"),
)


def contract_orders_outside_the_namespace_are_ignored_and_listed() -> None:
    result = reconcile("MAIN", snapshot(orders=FOREIGN), state(), NO_STOPS)
    assert result.diffs == ()
    assert result.repairs == ()
    assert result.orders_compared == 0
    assert result.ignored_client_order_ids == tuple(
        sorted([coid(1, "EXP"), "manual-1", "main_lowercase_is_not_main", "MAINX_1"])
    )


def contract_each_engine_sees_only_its_own_orders() -> None:
    snap = snapshot(orders=(order(1), order(1, engine_id="EXP", client_order_id=coid(1, "EXP"))))
    main = reconcile("MAIN", snap, state(), NO_STOPS)
    exp = reconcile("EXP", snap, state(), NO_STOPS)
    assert [(d.kind, d.ref) for d in main.diffs] == [(DiffKind.UNKNOWN_BROKER_ORDER, coid(1))]
    assert [(d.kind, d.ref) for d in exp.diffs] == [(DiffKind.UNKNOWN_BROKER_ORDER, coid(1, "EXP"))]
    assert [r.client_order_id for r in main.repairs] == [coid(1)]
    assert [r.client_order_id for r in exp.repairs] == [coid(1, "EXP")]


def contract_foreign_fills_are_not_compared() -> None:
    snap = snapshot(fills=(fill("F-exp", 1, engine_id="EXP", client_order_id=coid(1, "EXP")),))
    result = reconcile("MAIN", snap, state(), NO_STOPS)
    assert (result.diffs, result.fills_compared) == ((), 0)


def contract_repairs_are_never_proposed_outside_the_namespace() -> None:
    open_foreign = tuple(o for o in FOREIGN if not o.status.is_terminal)
    result = reconcile(
        "MAIN",
        snapshot(orders=(*open_foreign, order(9)), positions={"AAPL": "10"}),
        state(positions={"AAPL": "10"}),
    )
    assert [(type(r), r.client_order_id) for r in result.repairs] == [(CancelOrder, coid(9))]


@pytest.mark.parametrize(
    "make",
    [
        lambda: CancelOrder(
            engine_id="MAIN",
            client_order_id="manual-1",
            symbol="AAPL",
            reason=DiffKind.UNKNOWN_BROKER_ORDER,
        ),
        lambda: CancelOrder(
            engine_id="MAIN",
            client_order_id=coid(1, "EXP"),
            symbol="AAPL",
            reason=DiffKind.UNKNOWN_BROKER_ORDER,
        ),
        lambda: PlaceProtectiveStop(
            engine_id="MAIN",
            client_order_id=coid(1, "EXP") + "_R1",
            symbol="AAPL",
            side="SELL",
            quantity="1",
            stop_price="1",
            time_in_force="GTC",
            replaces=coid(1),
            reason=DiffKind.MISSING_PROTECTIVE_STOP,
        ),
        lambda: PlaceProtectiveStop(
            engine_id="MAIN",
            client_order_id=coid(1) + "_R1",
            symbol="AAPL",
            side="SELL",
            quantity="1",
            stop_price="1",
            time_in_force="GTC",
            replaces="manual-1",
            reason=DiffKind.MISSING_PROTECTIVE_STOP,
        ),
    ],
    ids=["cancel manual", "cancel other engine", "place under other engine", "replace manual"],
)
def contract_a_repair_outside_the_namespace_cannot_be_built(make: object) -> None:
    with pytest.raises(ValidationError, match="only orders provably ours may be repaired"):
        make()  # type: ignore[operator]


def unit_internal_state_outside_the_namespace_is_refused_with_the_field() -> None:
    internal = state(
        orders=(order(1), order(2, engine_id="EXP", client_order_id=coid(2, "EXP"))),
        fills=(fill("F-1", 1, engine_id="EXP", client_order_id=coid(1, "EXP")),),
    )
    with pytest.raises(InternalStateError) as caught:
        reconcile("MAIN", snapshot(), internal)
    assert [(p.field, p.rule) for p in caught.value.problems] == [
        ("orders[1].client_order_id", f"{coid(2, 'EXP')!r} is not MAIN's"),
        ("fills[0].client_order_id", f"{coid(1, 'EXP')!r} is not MAIN's"),
    ]
    assert caught.value.reason_code == "INTERNAL_STATE_INVALID"


def unit_invalid_engine_id_is_refused() -> None:
    with pytest.raises(ReconcileInputError, match="engine_id: 'main' is not an upper-case token"):
        reconcile("main", snapshot(), state())


@pytest.mark.parametrize(
    ("snap", "field"),
    [
        (
            snapshot(orders=(order(1), order(1, status=OrderStatus.CANCELED))),
            "orders[1].client_order_id",
        ),
        (snapshot(fills=(fill("F-1", 1), fill("F-1", 1, quantity="2"))), "fills[1].broker_fill_id"),
    ],
    ids=["order twice", "fill twice"],
)
def fault_a_snapshot_listing_an_id_twice_is_refused(snap: object, field: str) -> None:
    with pytest.raises(SnapshotInvalidError) as caught:
        reconcile("MAIN", snap, state())  # type: ignore[arg-type]
    assert caught.value.field == field
    assert "duplicate" in caught.value.rule


def unit_internal_state_refuses_a_protective_stop_it_does_not_hold() -> None:
    with pytest.raises(ValidationError, match="is not one of the internal orders"):
        state(stops=(coid(2),))
    with pytest.raises(ValidationError, match="is a MARKET order"):
        state(orders=(order(2),), stops=(coid(2),))
    assert state(orders=(stop(2),), stops=(coid(2),)).protective_stop_ids == {coid(2)}
