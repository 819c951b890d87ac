"""Repairs are data: cancel an unknown order of ours, re-place a vanished protective stop."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from reconcile_support import T0, coid, order, snapshot, state, stop

from mqk_reconcile import (
    CancelOrder,
    DiffKind,
    PlaceProtectiveStop,
    ReconcileConfig,
    reconcile,
    replacement_client_order_id,
)
from mqk_schemas import OrderStatus, Side, TimeInForce, Topic, event_id

RUN = uuid.UUID("00000000-0000-4000-8000-000000000042")


@pytest.mark.parametrize(
    ("status", "filled", "repaired"),
    [
        (OrderStatus.NEW, "0", True),
        (OrderStatus.SUBMITTED, "0", True),
        (OrderStatus.PARTIALLY_FILLED, "4", True),
        (OrderStatus.FILLED, "10", False),
        (OrderStatus.CANCELED, "0", False),
        (OrderStatus.REJECTED, "0", False),
    ],
)
def unit_only_an_open_unknown_order_of_ours_is_cancelled(
    status: OrderStatus, filled: str, repaired: bool
) -> None:
    snap = snapshot(orders=(order(7, status=status, filled_quantity=filled, broker_order_id="b7"),))
    result = reconcile("MAIN", snap, state(), ReconcileConfig(require_protective_stop=False))
    expected = (
        [
            CancelOrder(
                engine_id="MAIN",
                client_order_id=coid(7),
                symbol="AAPL",
                broker_order_id="b7",
                reason=DiffKind.UNKNOWN_BROKER_ORDER,
            )
        ]
        if repaired
        else []
    )
    assert list(result.repairs) == expected


@pytest.mark.parametrize(
    ("at_broker", "position", "expected_qty"),
    [
        ((), "10", "10"),
        ((stop(2, status=OrderStatus.CANCELED),), "10", "10"),
        ((stop(2, status=OrderStatus.CANCELED), stop(4, quantity="4")), "10", "6"),
        ((), "12", "12"),
    ],
    ids=["stop gone", "stop canceled at broker", "other stop covers part", "position grew"],
)
def unit_a_vanished_protective_stop_is_replaced_for_the_uncovered_quantity(
    at_broker: tuple[object, ...], position: str, expected_qty: str
) -> None:
    internal = state(
        orders=(stop(2, time_in_force=TimeInForce.DAY), stop(4, quantity="4")),
        positions={"AAPL": position},
        stops=(coid(2), coid(4)),
    )
    result = reconcile(
        "MAIN",
        snapshot(orders=at_broker, positions={"AAPL": position}),  # type: ignore[arg-type]
        internal,
    )
    repairs = [r for r in result.repairs if isinstance(r, PlaceProtectiveStop)]
    assert repairs == [
        PlaceProtectiveStop(
            engine_id="MAIN",
            client_order_id=coid(2) + "_R1",
            symbol="AAPL",
            side=Side.SELL,
            quantity=Decimal(expected_qty),
            stop_price=Decimal(180),
            time_in_force=TimeInForce.DAY,
            replaces=coid(2),
            reason=DiffKind.MISSING_PROTECTIVE_STOP,
        )
    ]
    stop_diff = next(d for d in result.diffs if d.kind is DiffKind.MISSING_PROTECTIVE_STOP)
    assert stop_diff.message.endswith(f"re-place {coid(2)} as {coid(2)}_R1")


def unit_no_stop_is_invented_without_an_internal_protective_stop() -> None:
    result = reconcile("MAIN", snapshot(positions={"AAPL": "10"}), state(positions={"AAPL": "10"}))
    assert result.repairs == ()
    assert result.diffs[0].message.endswith(
        "no internal protective stop to re-place; protect it by hand"
    )


def unit_replacement_of_a_short_position_buys_back() -> None:
    internal = state(
        orders=(stop(2, side=Side.BUY, stop_price="250"),),
        positions={"AAPL": "-3"},
        stops=(coid(2),),
    )
    result = reconcile("MAIN", snapshot(positions={"AAPL": "-3"}), internal)
    (repair,) = result.repairs
    assert isinstance(repair, PlaceProtectiveStop)
    assert (repair.side, repair.quantity, repair.stop_price) == (Side.BUY, Decimal(3), Decimal(250))


@pytest.mark.parametrize(
    ("original", "taken", "expected"),
    [
        ("MAIN_abc_00000002", set(), "MAIN_abc_00000002_R1"),
        ("MAIN_abc_00000002", {"MAIN_abc_00000002_R1"}, "MAIN_abc_00000002_R2"),
        ("MAIN_abc_00000002_R1", set(), "MAIN_abc_00000002_R2"),
        ("MAIN_abc_00000002_R9", {"MAIN_abc_00000002_R10"}, "MAIN_abc_00000002_R11"),
        ("MAIN_" + "x" * 58, set(), None),
    ],
)
def unit_replacement_ids_are_deterministic_and_never_reused(
    original: str, taken: set[str], expected: str | None
) -> None:
    assert replacement_client_order_id(original, taken) == expected


def unit_replacement_skips_ids_the_broker_already_holds() -> None:
    replaced = stop(5, client_order_id=coid(2) + "_R1", status=OrderStatus.REJECTED)
    internal = state(
        orders=(stop(2), replaced), positions={"AAPL": "10"}, stops=(coid(2), coid(2) + "_R1")
    )
    result = reconcile("MAIN", snapshot(orders=(replaced,), positions={"AAPL": "10"}), internal)
    (repair,) = result.repairs
    assert repair.client_order_id == coid(2) + "_R2"


def unit_every_repair_is_a_recon_event_caused_by_the_result() -> None:
    internal = state(orders=(stop(2),), positions={"AAPL": "10"}, stops=(coid(2),))
    result = reconcile("MAIN", snapshot(orders=(order(9),), positions={"AAPL": "10"}), internal)
    events = result.events(run_id=RUN, first_seq=40, ts_utc=T0)
    assert [(e.seq, e.topic, e.event_type) for e in events] == [
        (40, Topic.RECON, "RECON_RESULT"),
        (41, Topic.RECON, "RECON_REPAIR_CANCEL_ORDER"),
        (42, Topic.RECON, "RECON_REPAIR_PLACE_PROTECTIVE_STOP"),
    ]
    assert events[0].event_id == event_id(RUN, 40)
    assert events[0].payload == result.summary()
    assert {e.causation_id for e in events[1:]} == {str(events[0].event_id)}
    assert {e.correlation_id for e in events} == {result.snapshot_sha256}
    assert events[1].payload == result.repairs[0].summary()
    assert events[2].payload["client_order_id"] == coid(2) + "_R1"
    assert events[2].payload["quantity"] == "10"
