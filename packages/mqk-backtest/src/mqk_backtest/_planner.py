"""Planning a block of orders as the order desk would make them, with their fills priced."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from mqk_backtest._columns import SCALE, Columns, decimal_to_units, units_to_decimal
from mqk_backtest._envelope import OutsideEnvelope
from mqk_execution import CENT, CostModel
from mqk_schemas import Side

__all__ = ["NO_STEP", "OrderPlanner", "Planned", "by_step", "find", "preceding"]

NO_STEP = -1
"""The fill step of an order that never fills."""

_ZERO = Decimal(0)
_BUY, _SELL = Side.BUY, Side.SELL
_CENT_UNITS = SCALE // 100


@dataclass(slots=True)
class Planned:
    """An order the targets ask for: its row, symbol, target and the position it expects.

    ``fill_step`` is the step of the symbol's next bar (where it fills), -1 if there is none.
    """

    row: int
    step: int
    sym: int
    wanted: int
    before: int
    fill_row: int
    fill_step: int
    refused: bool = False  # a halted engine's entry: expected to be refused
    price: Decimal | None = None  # None: ``cents`` (a free cost model's price, made lazily)
    fee: Decimal = _ZERO
    flow: int = 0  # cash change of the fill, 1e-8 units
    cents: int = 0


class OrderPlanner:
    """Turns one symbol's vectorised targets into :class:`Planned` orders with priced fills."""

    def __init__(
        self,
        cols: Columns,
        quantity: npt.NDArray[np.int64],
        asked_rows: list[npt.NDArray[np.int32]],
        next_row: npt.NDArray[np.int32],
        costs: CostModel,
    ) -> None:
        self._cols = cols
        self._quantity = quantity
        self._asked_rows = asked_rows
        self._next_row = next_row
        self._costs = costs
        self._free = costs.free
        self._prices: dict[tuple[int, int], tuple[Decimal, Decimal, int]] = {}

    def plan(
        self,
        sym: int,
        row_from: int,
        row_hi: int,
        *,
        held: int,
        memo: int | None,
        halted: bool,
    ) -> list[Planned]:
        """The orders symbol ``sym`` asks for on rows ``row_from..row_hi-1``, as
        :class:`~mqk_execution.OrderDesk` makes them: an order wherever the target differs from
        what will be held (``held`` now), except while the refused target ``memo`` is asked for
        again. An active engine's orders are expected accepted; a halted engine's
        risk-increasing ones refused."""
        rows = self._asked_rows[sym]
        lo = find(rows, row_from)
        hi = find(rows, row_hi)
        at = rows[lo:hi]
        wanted = self._quantity[at]
        if memo is not None:  # a refused target waits until the strategy moves off it
            moved = np.flatnonzero(wanted != memo)
            if moved.size == 0:
                return []
            wanted, at = wanted[int(moved[0]) :], at[int(moved[0]) :]
        if not halted:
            before = preceding(wanted, held)
            change = wanted != before
            at, wanted, before = _split_flips(at[change], wanted[change], before[change])
            refused = np.zeros(at.shape[0], dtype=np.bool_)
        else:
            at, wanted, before, refused = _plan_halted(at, wanted, held)
        return self._planned_many(sym, at, wanted, before, refused)

    def _planned_many(
        self,
        sym: int,
        at: npt.NDArray[np.int32],
        wanted: npt.NDArray[np.int64],
        before: npt.NDArray[np.int64],
        refused: npt.NDArray[np.bool_],
    ) -> list[Planned]:
        """:meth:`_planned` of many orders of one symbol at once (rows, fills and, for a free
        cost model, prices found with array operations)."""
        if (np.sign(wanted) * np.sign(before) < 0).any():
            raise OutsideEnvelope("a target crosses from long to short in one step")
        if not self._free or at.size == 0:
            return [
                self.planned(row, sym, want, held, flag)
                for row, want, held, flag in zip(
                    at.tolist(), wanted.tolist(), before.tolist(), refused.tolist(), strict=True
                )
            ]
        cols = self._cols
        steps = cols.step_of_row[at]
        fill_rows = np.where(refused, -1, self._next_row[at])
        filled = fill_rows >= 0
        fill_steps = np.where(filled, cols.step_of_row[np.maximum(fill_rows, 0)], NO_STEP)
        shares = (wanted - before) // SCALE
        opens = cols.open[np.maximum(fill_rows, 0)]
        cents = np.where(shares > 0, -(-opens // _CENT_UNITS), opens // _CENT_UNITS)
        cents = np.where(filled, np.maximum(cents, 1), 0)  # a price never rounds below a cent
        flows = -shares * cents * _CENT_UNITS
        return [
            Planned(row, step, sym, want, held, fill, fill_step, flag, None, _ZERO, flow, cent)
            for row, step, want, held, fill, fill_step, flag, flow, cent in zip(
                at.tolist(),
                steps.tolist(),
                wanted.tolist(),
                before.tolist(),
                fill_rows.tolist(),
                fill_steps.tolist(),
                refused.tolist(),
                flows.tolist(),
                cents.tolist(),
                strict=True,
            )
        ]

    def planned(
        self, row: int, sym: int, wanted: int, before: int, refused: bool = False
    ) -> Planned:
        """The order asking for ``wanted`` on ``row`` while ``before`` is held, with its fill
        (the symbol's next bar) priced unless it is expected to be refused."""
        if wanted * before < 0:
            raise OutsideEnvelope("a target crosses from long to short in one step")
        cols = self._cols
        fill_row = -1 if refused else int(self._next_row[row])
        fill_step = int(cols.step_of_row[fill_row]) if fill_row >= 0 else NO_STEP
        step = int(cols.step_of_row[row])
        planned = Planned(row, step, sym, wanted, before, fill_row, fill_step, refused)
        if fill_row >= 0:
            self.price(planned)
        return planned

    def price(self, planned: Planned) -> None:
        """The fill price and fee of ``planned`` from the SimBroker's cost model (CENT tick)."""
        key = (planned.fill_row, planned.wanted - planned.before)
        known = self._prices.get(key)
        if known is not None:
            planned.price, planned.fee, planned.flow = known
            return
        cols, costs, f = self._cols, self._costs, planned.fill_row
        shares = (planned.wanted - planned.before) // SCALE
        if self._free:  # the open rounded to the cent against the trader, no fee: in integers
            opens = int(cols.open[f])
            cents = max(-(-opens // _CENT_UNITS) if shares > 0 else opens // _CENT_UNITS, 1)
            planned.cents = cents
            planned.flow = -shares * cents * _CENT_UNITS
            return
        side = _BUY if planned.wanted > planned.before else _SELL
        open_ = units_to_decimal(int(cols.open[f]))
        high = units_to_decimal(int(cols.high[f]))
        low = units_to_decimal(int(cols.low[f]))
        price = costs.fill_price(open_, side, None, CENT, open_, high, low)
        fee = costs.order_fee_total(costs.raw_commission(Decimal(abs(shares)), price))
        planned.price, planned.fee = price, fee
        planned.flow = -shares * decimal_to_units(price, "fill price") - decimal_to_units(
            fee, "fee"
        )
        self._prices[key] = (price, fee, planned.flow)


def preceding(values: npt.NDArray[np.int64], first: int) -> npt.NDArray[np.int64]:
    """Each element's predecessor in ``values``, ``first`` for the first one (what
    ``np.r_[first, values[:-1]]`` gives, without its ~6 µs of overhead per call)."""
    out = np.empty_like(values)
    out[:1] = first
    out[1:] = values[:-1]
    return out


def _plan_halted(
    at: npt.NDArray[np.int32], wanted: npt.NDArray[np.int64], held: int
) -> tuple[
    npt.NDArray[np.int32], npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.bool_]
]:
    """Rows, targets, holdings and expected refusals of a halted engine's orders: exits
    pass, entries are refused (and keep what is held)."""
    moved = wanted != preceding(wanted, 0)
    moved[:1] = True  # the first is always a move
    orders = []
    for row, want in zip(at[moved].tolist(), wanted[moved].tolist(), strict=True):
        if want == held:
            continue
        if want * held < 0:  # a flip: the closing half passes, the opening half is refused
            orders.append((row, 0, held, False))
            orders.append((row, want, 0, True))
            held = 0
            continue
        reducing = want * held >= 0 and abs(want) < abs(held)
        orders.append((row, want, held, not reducing))
        if reducing:
            held = want
    if not orders:
        empty = np.zeros(0, dtype=np.int64)
        return at[:0], empty, empty, np.zeros(0, dtype=np.bool_)
    rows, targets, holdings, refused = zip(*orders, strict=True)
    return (
        np.array(rows, dtype=np.int32),
        np.array(targets, dtype=np.int64),
        np.array(holdings, dtype=np.int64),
        np.array(refused, dtype=np.bool_),
    )


def _split_flips(
    at: npt.NDArray[np.int32], wanted: npt.NDArray[np.int64], before: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Orders that go from long to short (or back) in one step become two, as the order desk
    sends them: a reduce-only close to flat, then the opening rest, on the same row."""
    flip = np.sign(wanted) * np.sign(before) < 0
    if not flip.any():
        return at, wanted, before
    copies = np.where(flip, 2, 1)
    first = (np.cumsum(copies) - copies)[flip]  # where each flip's closing half lands
    rows = np.repeat(at, copies).astype(np.int32)
    targets = np.repeat(wanted, copies).astype(np.int64)
    holdings = np.repeat(before, copies).astype(np.int64)
    targets[first] = 0
    holdings[first + 1] = 0
    return rows, targets, holdings


def find(rows: npt.NDArray[np.int32], row: int) -> int:
    """Index of the first of the sorted ``rows`` at or after ``row`` (searched as int32: an
    int64 key would make numpy convert the whole array on every search)."""
    return int(np.searchsorted(rows, np.int32(row)))


def by_step(plan: list[Planned]) -> dict[int, list[Planned]]:
    """``{step: [planned, ...]}`` keeping row order within a step (and steps in order when
    ``plan`` is in row order)."""
    grouped: dict[int, list[Planned]] = {}
    for planned in plan:
        grouped.setdefault(planned.step, []).append(planned)
    return grouped
