"""Fill deduplication, engine scoping and refused input: nothing changes on a refusal."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from mqk_portfolio import (
    EngineLedger,
    FillConflictError,
    FillStatus,
    ForeignFillError,
    InvalidMarkError,
    LedgerInputError,
    LedgerView,
    PortfolioView,
)
from mqk_schemas import Action, Fill

FillFactory = Callable[..., Fill]
D = Decimal


def fault_duplicate_fill_is_ignored_reported_and_never_double_counted(
    make_fill: FillFactory,
) -> None:
    ledger = EngineLedger("MAIN", D(1_000))
    fill = make_fill("abc-1", "BUY", 2, 100, fee=1)
    assert ledger.apply(fill).status is FillStatus.APPLIED
    before = ledger.snapshot()
    again = ledger.apply(fill)
    assert again.status is FillStatus.DUPLICATE
    assert not again.applied
    assert again.realised_pnl == D(0)
    assert again.position == D(2)
    assert again.decision is not None
    assert again.decision.action is Action.REJECT
    assert again.decision.reason_code == "FILL_DUPLICATE"
    assert again.decision.evidence["broker_fill_id"] == "abc-1"
    assert ledger.snapshot() == before
    assert ledger.cash == D(799)
    assert ledger.duplicates_ignored == 1


def fault_a_different_fill_reusing_an_id_is_refused_and_changes_nothing(
    make_fill: FillFactory,
) -> None:
    ledger = EngineLedger("MAIN", D(1_000))
    ledger.apply(make_fill("abc-1", "BUY", 2, 100))
    before = ledger.snapshot()
    with pytest.raises(FillConflictError) as caught:
        ledger.apply(make_fill("abc-1", "BUY", 3, "100.5"))
    assert str(caught.value) == (
        "broker_fill_id abc-1 was applied already with different price, quantity, ts_utc; "
        "refusing the second version"
    )
    assert caught.value.reason_code == "FILL_ID_CONFLICT"
    assert ledger.snapshot() == before


def fault_a_fill_of_another_engine_is_refused(make_fill: FillFactory) -> None:
    ledger = EngineLedger("MAIN", D(1_000))
    with pytest.raises(ForeignFillError, match="belongs to engine EXP, not MAIN"):
        ledger.apply(make_fill("x", "BUY", 1, 10, engine_id="EXP"))
    assert ledger.fills == ()
    assert ledger.cash == D(1_000)


@pytest.mark.parametrize(
    ("price", "expected"),
    [
        (101.5, "binary float"),
        (D(0), "must be > 0"),
        (D(-3), "must be > 0"),
        (D("NaN"), "not a finite number"),
        ("abc", "not a decimal number"),
    ],
)
def fault_bad_mark_prices_are_refused_and_change_nothing(
    make_fill: FillFactory, price: Any, expected: str
) -> None:
    ledger = EngineLedger("MAIN", D(1_000))
    ledger.apply(make_fill("b", "BUY", 1, 100))
    ledger.mark("AAPL", D(110))
    with pytest.raises(InvalidMarkError, match=expected):
        ledger.mark_all({"MSFT": D(5), "AAPL": price})
    assert ledger.mark_price("AAPL") == D(110)
    assert ledger.mark_price("MSFT") is None
    assert ledger.equity == D(1_010)


def unit_marks_accept_exact_ints_and_strings(make_fill: FillFactory) -> None:
    ledger = EngineLedger("MAIN", D(1_000))
    ledger.apply(make_fill("b", "BUY", 2, 100))
    ledger.mark("AAPL", "101.25")  # type: ignore[arg-type]
    assert ledger.equity == D("1002.5")
    ledger.mark("AAPL", 99)  # type: ignore[arg-type]
    assert ledger.equity == D(998)


@pytest.mark.parametrize(
    ("engine_id", "cash", "expected"),
    [
        ("main", D(1), "engine_id 'main' is not an upper-case engine token"),
        ("MAIN", 1.5, "starting_cash: 1.5 is a binary float"),
    ],
)
def fault_a_ledger_refuses_bad_construction(engine_id: str, cash: Any, expected: str) -> None:
    with pytest.raises(LedgerInputError, match=expected):
        EngineLedger(engine_id, cash)


def fault_apply_refuses_anything_but_a_fill() -> None:
    with pytest.raises(LedgerInputError, match=r"expected a mqk_schemas\.Fill, got dict"):
        EngineLedger("MAIN", D(1)).apply({"broker_fill_id": "x"})  # type: ignore[arg-type]


def contract_ledger_and_its_read_only_view_satisfy_the_portfolio_view(
    make_fill: FillFactory,
) -> None:
    ledger = EngineLedger("MAIN", D(1_000))
    ledger.apply(make_fill("b", "BUY", 2, 100))
    view = LedgerView(ledger)
    for reader in (ledger, view):
        assert isinstance(reader, PortfolioView)
        assert reader.position("AAPL") == D(2)
        assert reader.positions() == {"AAPL": D(2)}
        assert reader.equity == D(1_000)
        assert reader.gross_exposure == D(200)
    assert not hasattr(view, "apply")
    assert not hasattr(view, "mark")
    copy = view.positions()
    assert isinstance(copy, dict)
    copy["AAPL"] = D(99)  # a fresh dict: the ledger is untouched
    assert ledger.position("AAPL") == D(2)
