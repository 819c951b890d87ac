"""Targets -> intents: deterministic signed deltas, sorted by symbol, sequence handed in/out."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from mqk_execution import IntentError, targets_to_intents
from mqk_schemas import Side, TargetPosition, client_order_id

RUN = uuid.UUID("11111111-2222-4333-8444-555555555555")
D = Decimal


class Book:
    def __init__(self, **positions: str) -> None:
        self._p = {k: D(v) for k, v in positions.items()}

    def position(self, symbol: str) -> Decimal:
        return self._p.get(symbol, D(0))


def _plan(
    targets: list[TargetPosition], book: Book, next_seq: int = 0, **kwargs: object
) -> list[tuple[str, Side, str, bool, int]]:
    plan = targets_to_intents(
        targets,
        book,
        engine_id="MAIN",
        run_id=RUN,
        next_seq=next_seq,
        **kwargs,  # type: ignore[arg-type]
    )
    return [(i.symbol, i.side, str(i.quantity), i.reduce_only, i.intent_seq) for i in plan.intents]


def _q(symbol: str, quantity: str) -> TargetPosition:
    return TargetPosition(symbol=symbol, quantity=D(quantity))


@pytest.mark.parametrize(
    ("targets", "positions", "expected"),
    [
        ([_q("AAPL", "10")], {}, [("AAPL", Side.BUY, "10", False, 0)]),
        ([_q("AAPL", "10")], {"AAPL": "4"}, [("AAPL", Side.BUY, "6", False, 0)]),
        ([_q("AAPL", "4")], {"AAPL": "10"}, [("AAPL", Side.SELL, "6", True, 0)]),
        ([_q("AAPL", "0")], {"AAPL": "10"}, [("AAPL", Side.SELL, "10", True, 0)]),
        ([_q("AAPL", "0")], {"AAPL": "-3"}, [("AAPL", Side.BUY, "3", True, 0)]),
        ([_q("AAPL", "10")], {"AAPL": "10"}, []),
        (
            [_q("AAPL", "-5")],
            {"AAPL": "10"},
            [("AAPL", Side.SELL, "10", True, 0), ("AAPL", Side.SELL, "5", False, 1)],
        ),
        (
            [_q("MSFT", "1"), _q("AAPL", "2"), _q("BRK.B", "-1")],
            {},
            [
                ("AAPL", Side.BUY, "2", False, 0),
                ("BRK.B", Side.SELL, "1", False, 1),
                ("MSFT", Side.BUY, "1", False, 2),
            ],
        ),
    ],
)
def unit_intents_are_signed_deltas_sorted_by_symbol(
    targets: list[TargetPosition],
    positions: dict[str, str],
    expected: list[tuple[str, Side, str, bool, int]],
) -> None:
    assert _plan(targets, Book(**positions)) == expected


def unit_sequence_counter_is_handed_in_and_out_and_ids_are_derived() -> None:
    plan = targets_to_intents(
        [_q("B", "1"), _q("A", "1"), _q("C", "0")],
        Book(),
        engine_id="MAIN",
        run_id=RUN,
        next_seq=41,
    )
    assert plan.next_seq == 43
    assert [i.client_order_id for i in plan.intents] == [
        client_order_id("MAIN", RUN, 41),
        client_order_id("MAIN", RUN, 42),
    ]
    again = targets_to_intents(
        [_q("A", "1"), _q("B", "1")], Book(), engine_id="MAIN", run_id=RUN, next_seq=41
    )
    assert again == plan


def unit_notional_target_truncates_towards_zero_to_whole_steps() -> None:
    targets = [
        TargetPosition(symbol="AAPL", notional=D("1000")),
        TargetPosition(symbol="BTC/USD", notional=D("-1000")),
    ]
    prices = {"AAPL": D("333"), "BTC/USD": D("60000")}
    assert _plan(targets, Book(), prices=prices) == [("AAPL", Side.BUY, "3", False, 0)]
    fractional = _plan(targets[1:], Book(), prices=prices, quantity_step=D("0.0001"))
    assert fractional == [("BTC/USD", Side.SELL, "0.0166", False, 0)]


def unit_pending_orders_count_towards_the_current_quantity() -> None:
    pending = {"AAPL": D(6)}
    assert _plan([_q("AAPL", "10")], Book(AAPL="4"), pending=pending) == []
    assert _plan([_q("AAPL", "12")], Book(AAPL="4"), pending=pending) == [
        ("AAPL", Side.BUY, "2", False, 0)
    ]


@pytest.mark.parametrize(
    ("targets", "kwargs", "message"),
    [
        ([_q("AAPL", "1"), _q("AAPL", "2")], {}, "two targets for symbol AAPL"),
        ([TargetPosition(symbol="AAPL", notional=D(100))], {}, "needs a positive price"),
        ([_q("AAPL", "1")], {"quantity_step": D(0)}, "quantity_step 0 must be > 0"),
    ],
)
def fault_bad_targets_produce_nothing_and_say_why(
    targets: list[TargetPosition], kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(IntentError, match=message):
        targets_to_intents(
            targets,
            Book(),
            engine_id="MAIN",
            run_id=RUN,
            next_seq=0,
            **kwargs,  # type: ignore[arg-type]
        )
