"""One table row per diff situation: the exact diffs (kind, severity, symbol, ref, values)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from reconcile_support import T0, coid, fill, order, snapshot, state, stop

from mqk_reconcile import (
    DiffKind,
    InternalState,
    ReconcileConfig,
    ReconcileResult,
    Severity,
    reconcile,
)
from mqk_schemas import BrokerSnapshot, OrderStatus, Side

K = DiffKind
S = Severity
Row = tuple[DiffKind, Severity, str | None, str | None, str | None, str | None, str | None]
NO_STOPS = ReconcileConfig(require_protective_stop=False)
CRITICAL_STOPS = ReconcileConfig(missing_stop_severity=Severity.CRITICAL)
OPEN = OrderStatus.SUBMITTED
PART = OrderStatus.PARTIALLY_FILLED


def rows(result: ReconcileResult) -> list[Row]:
    """The diffs as comparable tuples."""
    return [
        (d.kind, d.severity, d.symbol, d.ref, d.field, d.broker, d.internal) for d in result.diffs
    ]


CASES: list[tuple[str, BrokerSnapshot, InternalState, ReconcileConfig, list[Row]]] = [
    (
        "unknown order of ours, open at the broker",
        snapshot(orders=(order(5),)),
        state(),
        NO_STOPS,
        [(K.UNKNOWN_BROKER_ORDER, S.CRITICAL, "AAPL", coid(5), "status", "SUBMITTED", None)],
    ),
    (
        "unknown order of ours, terminal with fills",
        snapshot(orders=(order(5, status=OrderStatus.FILLED, filled_quantity="10"),)),
        state(),
        NO_STOPS,
        [(K.UNKNOWN_BROKER_ORDER, S.CRITICAL, "AAPL", coid(5), "status", "FILLED", None)],
    ),
    (
        "unknown order of ours, terminal without fills",
        snapshot(orders=(order(5, status=OrderStatus.CANCELED),)),
        state(),
        NO_STOPS,
        [(K.UNKNOWN_BROKER_ORDER, S.INFO, "AAPL", coid(5), "status", "CANCELED", None)],
    ),
    (
        "submitted order missing at the broker",
        snapshot(),
        state(orders=(order(1),)),
        NO_STOPS,
        [(K.MISSING_INTERNAL_ORDER, S.WARN, "AAPL", coid(1), "status", None, "SUBMITTED")],
    ),
    (
        "partially filled order missing at the broker",
        snapshot(),
        state(orders=(order(1, status=PART, filled_quantity="3"),)),
        NO_STOPS,
        [(K.MISSING_INTERNAL_ORDER, S.WARN, "AAPL", coid(1), "status", None, "PARTIALLY_FILLED")],
    ),
    (
        "order not yet sent (NEW) is not expected at the broker",
        snapshot(),
        state(orders=(order(1, status=OrderStatus.NEW),)),
        NO_STOPS,
        [],
    ),
    (
        "closed order may be absent at the broker",
        snapshot(),
        state(orders=(order(1, status=OrderStatus.FILLED, filled_quantity="10"),)),
        NO_STOPS,
        [],
    ),
    (
        "quantity drift",
        snapshot(orders=(order(1, quantity="12"),)),
        state(orders=(order(1),)),
        NO_STOPS,
        [(K.ORDER_FIELD_DRIFT, S.CRITICAL, "AAPL", coid(1), "quantity", "12", "10")],
    ),
    (
        "side drift",
        snapshot(orders=(order(1, side=Side.SELL),)),
        state(orders=(order(1),)),
        NO_STOPS,
        [(K.ORDER_FIELD_DRIFT, S.CRITICAL, "AAPL", coid(1), "side", "SELL", "BUY")],
    ),
    (
        "symbol drift (reported under the internal symbol)",
        snapshot(orders=(order(1, symbol="MSFT"),)),
        state(orders=(order(1),)),
        NO_STOPS,
        [(K.ORDER_FIELD_DRIFT, S.CRITICAL, "AAPL", coid(1), "symbol", "MSFT", "AAPL")],
    ),
    (
        "broker ahead on fills: one diff per drifting field",
        snapshot(orders=(order(1, status=PART, filled_quantity="4"),)),
        state(orders=(order(1),)),
        NO_STOPS,
        [
            (K.ORDER_FIELD_DRIFT, S.WARN, "AAPL", coid(1), "filled_quantity", "4", "0"),
            (
                K.ORDER_FIELD_DRIFT,
                S.WARN,
                "AAPL",
                coid(1),
                "status",
                "PARTIALLY_FILLED",
                "SUBMITTED",
            ),
        ],
    ),
    (
        "internal ahead of the broker on fills",
        snapshot(orders=(order(1),)),
        state(orders=(order(1, status=PART, filled_quantity="4"),)),
        NO_STOPS,
        [
            (K.ORDER_FIELD_DRIFT, S.CRITICAL, "AAPL", coid(1), "filled_quantity", "0", "4"),
            (
                K.ORDER_FIELD_DRIFT,
                S.CRITICAL,
                "AAPL",
                coid(1),
                "status",
                "SUBMITTED",
                "PARTIALLY_FILLED",
            ),
        ],
    ),
    (
        "status NEW vs SUBMITTED is informational",
        snapshot(orders=(order(1, status=OrderStatus.NEW),)),
        state(orders=(order(1),)),
        NO_STOPS,
        [(K.ORDER_FIELD_DRIFT, S.INFO, "AAPL", coid(1), "status", "NEW", "SUBMITTED")],
    ),
    (
        "broker ahead on status (canceled at the broker)",
        snapshot(orders=(order(1, status=OrderStatus.CANCELED),)),
        state(orders=(order(1),)),
        NO_STOPS,
        [(K.ORDER_FIELD_DRIFT, S.WARN, "AAPL", coid(1), "status", "CANCELED", "SUBMITTED")],
    ),
    (
        "broker FILLED vs internal SUBMITTED",
        snapshot(orders=(order(1, status=OrderStatus.FILLED, filled_quantity="10"),)),
        state(orders=(order(1),)),
        NO_STOPS,
        [
            (K.ORDER_FIELD_DRIFT, S.WARN, "AAPL", coid(1), "filled_quantity", "10", "0"),
            (K.ORDER_FIELD_DRIFT, S.WARN, "AAPL", coid(1), "status", "FILLED", "SUBMITTED"),
        ],
    ),
    (
        "internal ahead on status (we think canceled, broker still open)",
        snapshot(orders=(order(1),)),
        state(orders=(order(1, status=OrderStatus.CANCELED),)),
        NO_STOPS,
        [(K.ORDER_FIELD_DRIFT, S.CRITICAL, "AAPL", coid(1), "status", "SUBMITTED", "CANCELED")],
    ),
    (
        "two different terminal states",
        snapshot(orders=(order(1, status=OrderStatus.CANCELED),)),
        state(orders=(order(1, status=OrderStatus.REJECTED),)),
        NO_STOPS,
        [(K.ORDER_FIELD_DRIFT, S.CRITICAL, "AAPL", coid(1), "status", "CANCELED", "REJECTED")],
    ),
    (
        "fill at the broker not applied in the ledger",
        snapshot(fills=(fill("F-1", 1),)),
        state(),
        NO_STOPS,
        [(K.FILL_NOT_APPLIED, S.WARN, "AAPL", "F-1", "quantity", "10", None)],
    ),
    (
        "fill applied in the ledger but absent at the broker",
        snapshot(),
        state(fills=(fill("F-1", 1),)),
        NO_STOPS,
        [(K.FILL_MISSING_AT_BROKER, S.CRITICAL, "AAPL", "F-1", "quantity", None, "10")],
    ),
    (
        "same fill id, different quantity",
        snapshot(fills=(fill("F-1", 1, quantity="9"),)),
        state(fills=(fill("F-1", 1),)),
        NO_STOPS,
        [(K.FILL_FIELD_DRIFT, S.CRITICAL, "AAPL", "F-1", "quantity", "9", "10")],
    ),
    (
        "same fill id, different price",
        snapshot(fills=(fill("F-1", 1, price="190.51"),)),
        state(fills=(fill("F-1", 1),)),
        NO_STOPS,
        [(K.FILL_FIELD_DRIFT, S.CRITICAL, "AAPL", "F-1", "price", "190.51", "190.5")],
    ),
    (
        "same fill id, different order (even one outside our namespace)",
        snapshot(fills=(fill("F-1", 1, client_order_id=coid(1, "EXP"), engine_id="EXP"),)),
        state(fills=(fill("F-1", 1),)),
        NO_STOPS,
        [
            (
                K.FILL_FIELD_DRIFT,
                S.CRITICAL,
                "AAPL",
                "F-1",
                "client_order_id",
                coid(1, "EXP"),
                coid(1),
            )
        ],
    ),
    (
        "same fill id, different fee",
        snapshot(fills=(fill("F-1", 1, fee="1.25"),)),
        state(fills=(fill("F-1", 1),)),
        NO_STOPS,
        [(K.FILL_FIELD_DRIFT, S.WARN, "AAPL", "F-1", "fee", "1.25", "1")],
    ),
    (
        "exact decimals compare by value (10 == 10.000, 190.5 == 190.50)",
        snapshot(fills=(fill("F-1", 1, quantity="10.000", price="190.50"),)),
        state(fills=(fill("F-1", 1),)),
        NO_STOPS,
        [],
    ),
    (
        "fills before the reported window are not compared",
        snapshot(fills=(fill("F-old-broker", 1, ts_utc=T0 - timedelta(days=2)),)),
        state(
            fills=(fill("F-old-ledger", 1, ts_utc=T0 - timedelta(days=3)),),
            fills_since=T0 - timedelta(days=1),
        ),
        NO_STOPS,
        [],
    ),
    (
        "position mismatch (long)",
        snapshot(positions={"AAPL": "12"}),
        state(positions={"AAPL": "10"}),
        NO_STOPS,
        [(K.POSITION_MISMATCH, S.CRITICAL, "AAPL", None, "quantity", "12", "10")],
    ),
    (
        "position only in the ledger (short)",
        snapshot(),
        state(positions={"TSLA": "-5"}),
        NO_STOPS,
        [(K.POSITION_MISMATCH, S.CRITICAL, "TSLA", None, "quantity", "0", "-5")],
    ),
    (
        "zero positions on either side are absent",
        snapshot(positions={"AAPL": "0"}),
        state(positions={"MSFT": "0"}),
        NO_STOPS,
        [],
    ),
    (
        "open position without a protective stop: WARN by default",
        snapshot(positions={"AAPL": "10"}),
        state(positions={"AAPL": "10"}),
        ReconcileConfig(),
        [
            (
                K.MISSING_PROTECTIVE_STOP,
                S.WARN,
                "AAPL",
                None,
                "protective_stop_quantity",
                "0",
                "10",
            )
        ],
    ),
    (
        "open position without a protective stop: CRITICAL by config",
        snapshot(positions={"AAPL": "10"}),
        state(positions={"AAPL": "10"}),
        CRITICAL_STOPS,
        [
            (
                K.MISSING_PROTECTIVE_STOP,
                S.CRITICAL,
                "AAPL",
                None,
                "protective_stop_quantity",
                "0",
                "10",
            )
        ],
    ),
    (
        "resting protective stop covering the position",
        snapshot(orders=(stop(2),), positions={"AAPL": "10"}),
        state(orders=(stop(2),), positions={"AAPL": "10"}, stops=(coid(2),)),
        ReconcileConfig(),
        [],
    ),
    (
        "protective stop covering part of the position",
        snapshot(orders=(stop(2, quantity="6"),), positions={"AAPL": "10"}),
        state(orders=(stop(2, quantity="6"),), positions={"AAPL": "10"}, stops=(coid(2),)),
        ReconcileConfig(),
        [
            (
                K.MISSING_PROTECTIVE_STOP,
                S.WARN,
                "AAPL",
                None,
                "protective_stop_quantity",
                "6",
                "10",
            )
        ],
    ),
    (
        "a SELL stop does not protect a short position",
        snapshot(orders=(stop(2),), positions={"AAPL": "-10"}),
        state(orders=(stop(2),), positions={"AAPL": "-10"}, stops=(coid(2),)),
        ReconcileConfig(),
        [
            (
                K.MISSING_PROTECTIVE_STOP,
                S.WARN,
                "AAPL",
                None,
                "protective_stop_quantity",
                "0",
                "10",
            )
        ],
    ),
    (
        "a resting stop not marked protective does not count",
        snapshot(orders=(stop(2),), positions={"AAPL": "10"}),
        state(orders=(stop(2),), positions={"AAPL": "10"}),
        ReconcileConfig(),
        [
            (
                K.MISSING_PROTECTIVE_STOP,
                S.WARN,
                "AAPL",
                None,
                "protective_stop_quantity",
                "0",
                "10",
            )
        ],
    ),
    (
        "protective stop check off by config",
        snapshot(positions={"AAPL": "10"}),
        state(positions={"AAPL": "10"}),
        NO_STOPS,
        [],
    ),
]


@pytest.mark.parametrize(
    ("snap", "internal", "config", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def unit_each_disagreement_gives_exactly_its_classified_diffs(
    snap: BrokerSnapshot,
    internal: InternalState,
    config: ReconcileConfig,
    expected: list[Row],
) -> None:
    assert rows(reconcile("MAIN", snap, internal, config)) == expected


def unit_diff_message_names_both_values() -> None:
    result = reconcile(
        "MAIN", snapshot(orders=(order(1, quantity="12"),)), state(orders=(order(1),)), NO_STOPS
    )
    assert result.diffs[0].message == f"order {coid(1)} quantity: broker 12, internal 10"


def unit_matching_state_is_clean_with_counts() -> None:
    result = reconcile(
        "MAIN",
        snapshot(orders=(order(1), stop(2)), fills=(fill("F-1", 1),), positions={"AAPL": "10"}),
        state(
            orders=(order(1), stop(2)),
            fills=(fill("F-1", 1),),
            positions={"AAPL": "10"},
            stops=(coid(2),),
        ),
    )
    assert (result.diffs, result.repairs) == ((), ())
    assert (result.orders_compared, result.fills_compared) == (2, 1)
    assert result.clean
