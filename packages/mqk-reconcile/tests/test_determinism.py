"""Shuffled inputs give identical output; repairs stay inside the namespace (hypothesis)."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reconcile_support import coid, fill, order, snapshot, state, stop

from mqk_reconcile import CancelOrder, InternalState, ReconcileDiff, reconcile
from mqk_schemas import BrokerSnapshot, OrderStatus, Side, engine_of_client_order_id

SYMBOLS = ("AAPL", "MSFT")


@st.composite
def _orders(draw: st.DrawFn, engine: str = "MAIN") -> list[Any]:
    out = []
    for seq in sorted(draw(st.sets(st.integers(1, 6), max_size=5))):
        quantity = draw(st.integers(1, 5))
        fields = {
            "client_order_id": coid(seq, engine),
            "engine_id": engine,
            "symbol": draw(st.sampled_from(SYMBOLS)),
            "side": draw(st.sampled_from(Side)),
            "quantity": str(quantity),
            "filled_quantity": str(draw(st.integers(0, quantity))),
            "status": draw(st.sampled_from(OrderStatus)),
        }
        out.append(stop(seq, **fields) if draw(st.booleans()) else order(seq, **fields))
    return out


@st.composite
def _fills(draw: st.DrawFn) -> list[Any]:
    return [
        fill(
            f"F-{n}",
            draw(st.integers(1, 6)),
            quantity=str(draw(st.integers(1, 3))),
            price=draw(st.sampled_from(["190.5", "190.55"])),
            symbol=draw(st.sampled_from(SYMBOLS)),
        )
        for n in sorted(draw(st.sets(st.integers(1, 5), max_size=4)))
    ]


_positions = st.dictionaries(
    st.sampled_from(SYMBOLS), st.integers(-3, 3).map(str), max_size=len(SYMBOLS)
)


@st.composite
def _world(draw: st.DrawFn) -> tuple[BrokerSnapshot, InternalState, BrokerSnapshot, InternalState]:
    broker_orders = draw(_orders()) + draw(_orders("EXP"))
    internal_orders = draw(_orders())
    stop_ids = [o.client_order_id for o in internal_orders if o.stop_price is not None]
    stops = draw(st.sets(st.sampled_from(stop_ids))) if stop_ids else set()
    broker_fills, internal_fills = draw(_fills()), draw(_fills())
    broker_pos, internal_pos = draw(_positions), draw(_positions)

    def permuted(items: list[Any]) -> tuple[Any, ...]:
        return tuple(draw(st.permutations(items)))

    first = (
        snapshot(orders=tuple(broker_orders), fills=tuple(broker_fills), positions=broker_pos),
        state(
            orders=tuple(internal_orders),
            fills=tuple(internal_fills),
            positions=internal_pos,
            stops=tuple(stops),
        ),
    )
    second = (
        snapshot(
            orders=permuted(broker_orders),
            fills=permuted(broker_fills),
            positions=dict(permuted(list(broker_pos.items()))),
        ),
        state(
            orders=permuted(internal_orders),
            fills=permuted(internal_fills),
            positions=dict(permuted(list(internal_pos.items()))),
            stops=permuted(sorted(stops)),
        ),
    )
    return (*first, *second)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_world())
def invariant_shuffled_inputs_give_identical_results(
    world: tuple[BrokerSnapshot, InternalState, BrokerSnapshot, InternalState],
) -> None:
    snap_a, internal_a, snap_b, internal_b = world
    a = reconcile("MAIN", snap_a, internal_a)
    b = reconcile("MAIN", snap_b, internal_b)
    assert a.summary() == b.summary()
    assert a == b
    assert list(a.diffs) == sorted(a.diffs, key=ReconcileDiff.sort_key)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_world())
def invariant_repairs_only_touch_orders_provably_ours(
    world: tuple[BrokerSnapshot, InternalState, BrokerSnapshot, InternalState],
) -> None:
    snap, internal, _, _ = world
    result = reconcile("MAIN", snap, internal)
    open_ours = {
        o.client_order_id
        for o in snap.orders
        if engine_of_client_order_id(o.client_order_id) == "MAIN" and not o.status.is_terminal
    }
    for repair in result.repairs:
        assert engine_of_client_order_id(repair.client_order_id) == "MAIN"
        if isinstance(repair, CancelOrder):
            assert repair.client_order_id in open_ours
        else:
            assert repair.replaces in internal.protective_stop_ids
            assert repair.client_order_id not in {o.client_order_id for o in snap.orders}
