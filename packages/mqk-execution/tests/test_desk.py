"""OrderDesk: targets become gateway calls without ever leaving a position unprotected."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from mqk_execution import OrderDesk
from mqk_schemas import Action, OrderStatus, OrderType, TargetPosition, Topic

if TYPE_CHECKING:
    from conftest import Harness

D = Decimal


def _desk(h: Harness, audit: list[tuple[Topic, str, dict[str, Any]]]) -> OrderDesk:
    desk = OrderDesk(
        gateway=h.gateway,
        ledger=h.positions,
        engine_id="MAIN",
        run_id=h.authority.verifier.run_id,
        next_seq=100,
        prices={"AAPL": D(100)},
        audit=lambda topic, kind, payload: audit.append((topic, kind, payload)),
    )
    desk.token = h.token
    return desk


def _long_with_stop(h: Harness, desk: OrderDesk) -> None:
    h.flat_bar("100")
    desk.act((TargetPosition(symbol="AAPL", quantity=D(100)),), {"AAPL": (D(90), None)})
    h.flat_bar("100")  # the entry fills, its protective stop starts resting
    assert h.positions.position("AAPL") == D(100)


def _stops(h: Harness) -> list[OrderStatus]:
    return [o.status for o in h.gateway.orders() if o.order_type is OrderType.STOP]


def fault_a_refused_exit_keeps_the_protective_stop_resting_and_is_retried(harness: Harness) -> None:
    desk = _desk(harness, [])
    _long_with_stop(harness, desk)
    harness.risk.set(Action.REJECT, "KILL_SWITCH_PDT")
    flat = (TargetPosition(symbol="AAPL", quantity=D(0)),)

    desk.act(flat, {})
    assert _stops(harness) == [OrderStatus.SUBMITTED]  # still protected
    assert desk.refused == {}  # an exit is never parked in the refused memo

    harness.risk.set(Action.ALLOW)
    desk.act(flat, {})  # retried on the next cycle, now accepted
    assert _stops(harness) == [OrderStatus.CANCELED]
    harness.flat_bar("101")
    assert harness.positions.position("AAPL") == D(0)


def unit_a_refused_entry_waits_until_the_target_changes(harness: Harness) -> None:
    desk = _desk(harness, [])
    harness.flat_bar("100")
    harness.risk.set(Action.REJECT, "KILL_SWITCH_MAX_POSITION_NOTIONAL")
    long = (TargetPosition(symbol="AAPL", quantity=D(100)),)
    desk.act(long, {})
    sent = len(harness.gateway.orders())
    desk.act(long, {})  # same target: not retried
    assert desk.refused == {"AAPL": D(100)}
    assert len(harness.gateway.orders()) == sent

    harness.risk.set(Action.ALLOW)
    desk.act((TargetPosition(symbol="AAPL", quantity=D(0)),), {})  # the strategy changed its mind
    assert desk.refused == {}
    desk.act(long, {})  # and back: a new attempt, accepted
    assert [o.status for o in harness.gateway.orders()] == [OrderStatus.SUBMITTED]


def unit_shadow_targets_record_intents_and_send_nothing(harness: Harness) -> None:
    audit: list[tuple[Topic, str, dict[str, Any]]] = []
    desk = _desk(harness, audit)
    desk.shadow((TargetPosition(symbol="AAPL", quantity=D(100)),))
    desk.shadow((TargetPosition(symbol="AAPL", quantity=D(100)),))  # unchanged: nothing new
    desk.shadow((TargetPosition(symbol="AAPL", quantity=D(40)),))
    assert [(t, k) for t, k, _ in audit] == [(Topic.STRATEGY, "SHADOW_INTENT")] * 2
    assert [p["intent"]["side"] for _, _, p in audit] == ["BUY", "SELL"]
    assert harness.gateway.orders() == ()
