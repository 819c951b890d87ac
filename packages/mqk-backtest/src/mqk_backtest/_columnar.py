"""The columnar kernel: fast mode's path for the common envelope, with the same results.

The envelope: one strategy with a vectorised form, not shadow, MARKET orders only (no stops or
take-profits), whole-share targets, no submit latency, no partial fills, no same-bar fills, and
bars the integrity scan proves clean (every row ALLOW with reason OK, no tolerated gaps, no
stale-feed pause). Inside it an order the strategy asks for is sent on the bar it asks on and,
once accepted, filled in full at that symbol's next bar's open (cost model applied). So the
kernel works a block of steps at a time:

1. it plans the block's orders from the precomputed targets as the order desk would (an order
   wherever the target differs from what will be held, a long/short flip as a reduce-only
   close then the opening rest; a refused entry is not retried while the target stays the
   same; a halted engine's entries are planned as refused), prices their fills with the
   SimBroker's own :class:`~mqk_execution.CostModel`, and computes cash, positions and equity
   of every step as int64 columns;
2. it walks only the steps where something happens — a fill, an order, a session's first or
   last step, a new equity peak — and there runs the real components: fills go into the real
   :class:`~mqk_portfolio.EngineLedger` and :class:`~mqk_risk.RiskEngine` (PDT), every order
   through the gateway's own pre-trade checks (:func:`~mqk_execution.first_refusal`: armed,
   integrity, risk, allocation), and the risk engine is marked; a refused order is recorded as
   the gateway records it and the symbol's next order is planned again;
3. it proves the steps in between quiet: the session and the peak are unchanged there, so the
   risk floor is too; a step at or below it is marked like any other, and the switch it trips
   is recorded, the positions flattened and the rest planned for a halted engine.

Anything else — a switch that disarms, a refused exit, a flatten while an order is working on
a flat symbol, a ledger that disagrees with the columns — raises :class:`OutsideEnvelope`, and
the run is redone by the step engine from the start. The events, orders, fills and equity are
exactly those of bar-by-bar mode (the fast == reference tests run through this kernel).
"""

from __future__ import annotations

import bisect
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from mqk_backtest._columns import (
    SCALE,
    Columns,
    FastTargets,
    decimal_floor_units,
    decimal_to_units,
    units_to_decimal,
    utc,
    utc_texts,
)
from mqk_backtest._fills import FillRecorder
from mqk_backtest._orders import OrderLog, OrderRecord
from mqk_backtest._stream import EventStream, json_text
from mqk_execution import (
    CENT,
    AllocationCheck,
    ArmVerifier,
    CostModel,
    ExecutionSettings,
    IntegrityView,
    PreTradeContext,
    RiskCheck,
    first_refusal,
    is_reducing,
    refusal_record,
)
from mqk_integrity import FrameScan
from mqk_portfolio import EngineLedger
from mqk_risk import RiskEngine, TradingState
from mqk_schemas import (
    Action,
    Decision,
    Fill,
    OrderIntent,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
    Topic,
    client_order_ids,
    format_decimal,
    trusted,
)
from mqk_strategy import fixed_to_decimal

__all__ = ["ColumnarKernel", "KernelRun", "OutsideEnvelope", "envelope_problem"]

BLOCK_ROWS = 4096
"""Bars planned at once, about (a refusal re-plans the rest of its block)."""

_ZERO = Decimal(0)
_DAY0 = date(1970, 1, 1)
_BUY, _SELL = Side.BUY, Side.SELL
_MARKET, _GTC = OrderType.MARKET, TimeInForce.GTC
_INT64_HEADROOM = 2**62
_NO_STEP = -1
_CENT_UNITS = SCALE // 100


class OutsideEnvelope(Exception):  # noqa: N818 - a signal to hand over, not a failure
    """The run left the kernel's envelope; ``reason`` says where (the step engine takes over)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def envelope_problem(
    cols: Columns,
    targets: FastTargets | None,
    scan: FrameScan,
    settings: ExecutionSettings,
    *,
    shadow: bool,
    stale_after_us: int,
    starting_cash: Decimal,
) -> str | None:
    """Why the kernel cannot run this backtest (None when it can); checked before it starts."""
    if targets is None:
        return "the strategy has no vectorised form"
    if shadow:
        return "shadow mode"
    if settings.latency_bars.submit or settings.allow_same_bar_fills:
        return "submit latency or same-bar fills"
    if settings.partial_fills.enabled and settings.partial_fills.probability > 0:
        return "partial fills"
    if targets.stop.any() or targets.take_profit.any():
        return "protective stops or take-profits"
    if scan.issue_rows.size or scan.outlier_rows.size or scan.missing_bars.any():
        return "the integrity scan found issues, outliers or gaps"
    step_ts = cols.ts[cols.step_start[:-1]]
    if step_ts.shape[0] > 1 and int(np.diff(step_ts).max()) > stale_after_us:
        return "a pause longer than the stale-feed limit"
    wanted = targets.quantity[targets.active]
    if (wanted % SCALE).any():
        return "fractional target quantities"
    biggest = int(np.abs(wanted).max()) // SCALE if wanted.size else 0
    cash = abs(decimal_to_units(starting_cash, "starting cash"))
    if (biggest + 1) * (int(cols.close.max()) + 1) * len(cols.symbols) * 4 + cash > _INT64_HEADROOM:
        return "values too large for int64 columns"
    return None


@dataclass(frozen=True, slots=True)
class KernelRun:
    """What the kernel produced beyond the ledger's and the event stream's own state."""

    orders: OrderLog
    cash_units: npt.NDArray[np.int64]
    equity_units: npt.NDArray[np.int64]
    exposed: npt.NDArray[np.bool_]


@dataclass(slots=True)
class _Planned:
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


@dataclass(slots=True)
class _Working:
    """A sent order waiting for its fill."""

    plan: _Planned
    coid: str
    symbol: str
    side: Side
    quantity: Decimal
    broker_order_id: str
    created_at: datetime
    index: int


@dataclass(slots=True)
class _Block:
    """Steps ``start..stop-1`` under the current plan: each symbol's mark and holding per
    step, the planned orders and fills per step, the steps the risk engine must see, and the
    busy steps (cash and equity live in the kernel's run-long columns)."""

    start: int
    stop: int
    marks: list[npt.NDArray[np.int64]]
    held: dict[int, npt.NDArray[np.int64]]
    orders: npt.NDArray[np.int64]
    fills: npt.NDArray[np.int64]
    marked: npt.NDArray[np.bool_]
    busy: list[int] = field(default_factory=list)
    texts: dict[int, str] = field(default_factory=dict)  # busy step -> its close time as text
    low_floor: Decimal | None = None  # the risk floor ``lows`` were found for
    lows: list[int] = field(default_factory=list)  # steps with equity at or below it


class ColumnarKernel:
    """Runs one backtest inside the envelope (see the module docstring)."""

    def __init__(
        self,
        *,
        cols: Columns,
        targets: FastTargets,
        session_day: npt.NDArray[np.int32],
        settings: ExecutionSettings,
        engine_id: str,
        run_id: uuid.UUID,
        starting_cash: Decimal,
        ledger: EngineLedger,
        risk: RiskEngine,
        fills: FillRecorder,
        stream: EventStream,
        arm: ArmVerifier,
        arm_token: object,
        integrity: IntegrityView,
        risk_check: RiskCheck,
        allocation: AllocationCheck,
        record: Callable[[datetime, Topic, Decision, str | None], None],
        progress: Callable[[int, int], None] | None,
    ) -> None:
        self._cols = cols
        self._record = record
        self._session_day = session_day
        self._costs = CostModel.from_settings(settings)
        self._free = self._costs.free
        self._engine_id = engine_id
        self._run_id = run_id
        self._ledger = ledger
        self._risk = risk
        self._fills = fills
        self._stream = stream
        self._arm = arm
        self._arm_token = arm_token
        self._integrity = integrity
        self._risk_check = risk_check
        self._allocation = allocation
        self._progress = progress

        n = cols.steps
        self._symbol_json = [json_text(symbol) for symbol in cols.symbols]
        self._coid = client_order_ids(engine_id, run_id)
        self._rows: list[npt.NDArray[np.int32]] = []
        self._asked_rows: list[npt.NDArray[np.int32]] = []
        self._quantity = targets.quantity
        self._next_row = np.full(cols.sym.shape[0], -1, dtype=np.int32)  # rows < 2**31
        for index in range(len(cols.symbols)):
            rows = np.flatnonzero(cols.sym == index).astype(np.int32)
            self._rows.append(rows)
            self._next_row[rows[:-1]] = rows[1:]
            asked = rows[targets.active[rows]]
            self._asked_rows.append(asked)
        days = session_day
        self._session_edge = np.r_[True, days[1:] != days[:-1]] | np.r_[days[1:] != days[:-1], True]

        self._cash = np.zeros(n, dtype=np.int64)
        self._equity = np.zeros(n, dtype=np.int64)
        self._exposed = np.zeros(n, dtype=np.bool_)
        self._held = [0] * len(cols.symbols)  # what each symbol holds once its orders fill
        self._memo: list[tuple[int, int] | None] = [None] * len(cols.symbols)
        self._working: dict[int, list[_Working]] = {}  # per symbol, oldest first
        self._due: dict[int, list[_Working]] = {}  # step -> working orders filling there
        self._text: str | None = None  # the current step's close time as events write it
        self._holding: set[int] = set()  # symbols the ledger holds a position in
        self._marked: dict[int, int] = {}  # the mark each symbol last got in the ledger
        self._orders: list[OrderRecord | None] = []
        self._seq = 0
        self._broker_seq = 0
        self._prices: dict[tuple[int, int], tuple[Decimal, Decimal, int]] = {}

    # -- the run -------------------------------------------------------------------------

    def run(self) -> KernelRun:
        """Run the backtest; raises :class:`OutsideEnvelope` when it leaves the envelope."""
        n = self._cols.steps
        block = max(16, BLOCK_ROWS // len(self._cols.symbols))
        for start in range(0, n, block):
            stop = min(n, start + block)
            self._block(start, stop)
            if self._progress is not None:
                self._progress(stop, n)
        for sent in (w for ws in self._working.values() for w in ws):  # resting at the end
            self._orders[sent.index] = self._order_record(sent, _ZERO, None, sent.created_at)
        records = [record for record in self._orders if record is not None]
        orders = OrderLog(self._engine_id, records)
        return KernelRun(orders, self._cash, self._equity, self._exposed)

    def _block(self, start: int, stop: int) -> None:
        cols = self._cols
        row_lo, row_hi = int(cols.step_start[start]), int(cols.step_start[stop])
        plan = self._plan_all(row_lo, row_hi)
        marks = [self._marks(sym, start, stop, row_lo, row_hi) for sym in range(len(cols.symbols))]
        block = _Block(
            start,
            stop,
            marks,
            {},
            np.zeros(stop - start, dtype=np.int64),
            np.zeros(stop - start, dtype=np.int64),
            np.zeros(stop - start, dtype=np.bool_),
        )
        self._recompute(block, start, plan)
        block.texts = self._texts(block.busy)
        sends = _by_step(plan)
        done = start - 1
        k = 0
        while True:
            upcoming = block.busy[k] if k < len(block.busy) else stop
            # steps in between change nothing but equity; any of them (or the busy step
            # itself) at or below the risk floor trips a switch there, as bar by bar
            # (a marked step is left to the risk engine itself: a new session moves its floor)
            last = upcoming if upcoming == stop or block.marked[upcoming - start] else upcoming + 1
            breach = self._first_breach(block, done + 1, last)
            if breach is None and k == len(block.busy):
                break
            step = breach if breach is not None else upcoming
            now = utc(int(cols.ts[int(cols.step_start[step])]))
            self._text = block.texts.get(step)
            session = _DAY0 + timedelta(days=int(self._session_day[step]))
            self._fill_due(step, now, session)
            marked = breach is not None or bool(block.marked[step - start])
            todo = sends.get(step, [])
            if marked or todo:
                self._mark_ledger(block, step)
            replanned = False
            if marked and self._mark_risk(now, session, step):
                # a switch tripped: flatten if asked, then everything is planned anew
                self._flatten(step, now, session)
                plan = self._plan_all(int(cols.step_start[step]), row_hi)
                sends = _by_step(plan)
                todo = sends.get(step, [])
                self._recompute(block, step + 1, plan)
                replanned = True
            elif breach is not None:
                raise OutsideEnvelope(
                    f"equity reached the risk floor at {now.isoformat()} and no switch tripped"
                )
            for planned in todo:
                if not self._send(planned, now, session):
                    self._after_refusal(block, planned, sends)
                    replanned = True
            done = step
            if replanned:
                self._refresh(block, step + 1)
                k = bisect.bisect_right(block.busy, step)
            elif step == upcoming:
                k += 1
        held = list(block.held.values())
        exposed = np.zeros(stop - start, dtype=np.bool_)
        for shares in held:
            exposed |= shares != 0
        self._exposed[start:stop] = exposed

    def _plan_all(self, row_from: int, row_hi: int) -> list[_Planned]:
        """Every symbol's orders on rows ``row_from..row_hi-1``, in row order."""
        return sorted(
            (p for i in range(len(self._cols.symbols)) for p in self._plan(i, row_from, row_hi)),
            key=lambda p: p.row,
        )

    def _flatten(self, step: int, now: datetime, session: date) -> None:
        """The order desk's answer to a FLATTEN_AND_HALT: a reduce-only order closing every
        open position (position plus working orders), sorted by symbol."""
        if not self._risk.flatten_requested:
            return
        cols = self._cols
        row_hi = int(cols.step_start[step + 1])
        for sym, symbol in enumerate(cols.symbols):
            if self._ledger.position(symbol) == 0:
                if self._working.get(sym):
                    raise OutsideEnvelope(f"{symbol} is flat with an order working at a flatten")
                continue
            memo = self._memo[sym]
            if memo is not None and memo[0] == 0:
                continue  # the desk does not ask again for a refused flat target
            self._memo[sym] = None
            if self._held[sym] == 0:
                continue  # already on its way to flat
            rows = self._rows[sym]
            row = int(rows[_find(rows, row_hi) - 1])
            fill_row = int(self._next_row[row])
            fill_step = int(cols.step_of_row[fill_row]) if fill_row >= 0 else _NO_STEP
            planned = _Planned(row, step, sym, 0, self._held[sym], fill_row, fill_step)
            if fill_row >= 0:
                self._price(planned)
            if not self._send(planned, now, session):
                raise OutsideEnvelope(f"a flattening order of {symbol} was refused")

    # -- planning --------------------------------------------------------------------------

    def _plan(self, sym: int, row_from: int, row_hi: int) -> list[_Planned]:
        """The orders symbol ``sym`` asks for on rows ``row_from..row_hi-1``, as
        :class:`~mqk_execution.OrderDesk` makes them: an order wherever the target differs from
        what will be held, except while a refused target is asked for again. Active engines
        expect every order accepted; halted ones expect risk-increasing orders refused."""
        rows = self._asked_rows[sym]
        lo = _find(rows, row_from)
        hi = _find(rows, row_hi)
        at = rows[lo:hi]
        wanted = self._quantity[at]
        memo = self._memo_at(sym, row_from)
        if memo is not None:  # a refused target waits until the strategy moves off it
            moved = np.flatnonzero(wanted != memo)
            if moved.size == 0:
                return []
            wanted, at = wanted[int(moved[0]) :], at[int(moved[0]) :]
        state = self._risk.trading_state
        if state is TradingState.DISARMED:
            raise OutsideEnvelope("the risk engine is disarmed")
        if state is TradingState.ACTIVE:
            before = np.r_[np.int64(self._held[sym]), wanted[:-1]]
            change = wanted != before
            at, wanted, before = _split_flips(at[change], wanted[change], before[change])
            refused = np.zeros(at.shape[0], dtype=np.bool_)
        else:
            at, wanted, before, refused = self._plan_halted(sym, at, wanted)
        return self._planned_many(sym, at, wanted, before, refused)

    def _planned_many(
        self,
        sym: int,
        at: npt.NDArray[np.int32],
        wanted: npt.NDArray[np.int64],
        before: npt.NDArray[np.int64],
        refused: npt.NDArray[np.bool_],
    ) -> list[_Planned]:
        """:meth:`_planned` of many orders of one symbol at once (rows, fills and, for a free
        cost model, prices found with array operations)."""
        if (np.sign(wanted) * np.sign(before) < 0).any():
            raise OutsideEnvelope("a target crosses from long to short in one step")
        if not self._free or at.size == 0:
            return [
                self._planned(row, sym, want, held, flag)
                for row, want, held, flag in zip(
                    at.tolist(), wanted.tolist(), before.tolist(), refused.tolist(), strict=True
                )
            ]
        cols = self._cols
        steps = cols.step_of_row[at]
        fill_rows = np.where(refused, -1, self._next_row[at])
        filled = fill_rows >= 0
        fill_steps = np.where(filled, cols.step_of_row[np.maximum(fill_rows, 0)], _NO_STEP)
        shares = (wanted - before) // SCALE
        opens = cols.open[np.maximum(fill_rows, 0)]
        cents = np.where(shares > 0, -(-opens // _CENT_UNITS), opens // _CENT_UNITS)
        cents = np.where(filled, np.maximum(cents, 1), 0)  # a price never rounds below a cent
        flows = -shares * cents * _CENT_UNITS
        return [
            _Planned(row, step, sym, want, held, fill, fill_step, flag, None, _ZERO, flow, cent)
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

    def _planned(
        self, row: int, sym: int, wanted: int, before: int, refused: bool = False
    ) -> _Planned:
        """The order asking for ``wanted`` on ``row`` while ``before`` is held, with its fill
        (the symbol's next bar) priced unless it is expected to be refused."""
        if wanted * before < 0:
            raise OutsideEnvelope("a target crosses from long to short in one step")
        cols = self._cols
        fill_row = -1 if refused else int(self._next_row[row])
        fill_step = int(cols.step_of_row[fill_row]) if fill_row >= 0 else _NO_STEP
        step = int(cols.step_of_row[row])
        planned = _Planned(row, step, sym, wanted, before, fill_row, fill_step, refused)
        if fill_row >= 0:
            self._price(planned)
        return planned

    def _plan_halted(
        self, sym: int, at: npt.NDArray[np.int32], wanted: npt.NDArray[np.int64]
    ) -> tuple[
        npt.NDArray[np.int32], npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.bool_]
    ]:
        """Rows, targets, holdings and expected refusals of a halted engine's orders: exits
        pass, entries are refused (and keep what is held)."""
        moved = np.r_[True, wanted[1:] != wanted[:-1]] if wanted.size else wanted.astype(bool)
        held = self._held[sym]
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

    def _memo_at(self, sym: int, row_from: int) -> int | None:
        """The refused target of ``sym`` still in force at ``row_from`` (the order desk forgets
        it at the first row asking for something else)."""
        memo = self._memo[sym]
        if memo is None:
            return None
        value, since = memo
        rows = self._asked_rows[sym]
        lo = _find(rows, since + 1)
        hi = _find(rows, row_from)
        if (self._quantity[rows[lo:hi]] != value).any():
            self._memo[sym] = None
            return None
        return value

    def _price(self, planned: _Planned) -> None:
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

    def _recompute(self, block: _Block, first: int, plan: list[_Planned]) -> None:
        """Cash, equity, holdings and planned orders and fills of steps ``first..stop-1`` from
        the ledger's state now, the working orders and ``plan`` (orders not sent yet)."""
        cols, ledger = self._cols, self._ledger
        start, stop = block.start, block.stop
        lo = first - start
        length = stop - first
        flows = np.zeros(length, dtype=np.int64)
        moves: dict[int, npt.NDArray[np.int64]] = {}
        block.orders[lo:] = 0
        block.fills[lo:] = 0
        for p in plan:
            if p.step >= first:
                block.orders[p.step - start] += 1
        working = [w.plan for ws in self._working.values() for w in ws]
        for p in [*working, *plan]:  # every fill to come
            if first <= p.fill_step < stop:
                offset = p.fill_step - first
                flows[offset] += p.flow
                if p.sym not in moves:
                    moves[p.sym] = np.zeros(length, dtype=np.int64)
                moves[p.sym][offset] += (p.wanted - p.before) // SCALE
                block.fills[p.fill_step - start] += 1
        cash = decimal_to_units(ledger.cash, "cash") + np.cumsum(flows)
        equity = cash.copy()
        for sym, symbol in enumerate(cols.symbols):
            held = decimal_to_units(ledger.position(symbol), "position") // SCALE
            if not held and sym not in moves and sym not in block.held:
                continue
            shares = held + np.cumsum(moves[sym]) if sym in moves else np.full(length, held)
            if sym not in block.held:
                block.held[sym] = np.zeros(stop - start, dtype=np.int64)
            block.held[sym][lo:] = shares
            equity += shares * block.marks[sym][lo:]
        self._cash[first:stop] = cash
        self._equity[first:stop] = equity
        self._refresh(block, first)

    def _refresh(self, block: _Block, first: int) -> None:
        """The steps the risk engine must see (session edges, new equity peaks) and the busy
        steps of ``first..stop-1`` after the columns changed."""
        start, stop = block.start, block.stop
        lo = first - start
        equity = self._equity[first:stop]
        peak = self._risk.peak_equity
        floor = decimal_floor_units(peak) if peak is not None else np.iinfo(np.int64).min
        running = np.maximum.accumulate(np.maximum(equity, floor))
        before = np.r_[np.int64(floor), running[:-1]]
        block.marked[lo:] = self._session_edge[first:stop] | (equity > before)
        busy = (block.orders[lo:] > 0) | (block.fills[lo:] > 0) | block.marked[lo:]
        block.busy = (first + np.flatnonzero(busy)).tolist()
        block.low_floor = None

    def _fill_effect(self, block: _Block, planned: _Planned, sign: int) -> None:
        """Add (``sign`` 1) or take back (-1) a planned order and its fill in the columns."""
        start, stop = block.start, block.stop
        if start <= planned.step < stop:
            block.orders[planned.step - start] += sign
        step = planned.fill_step
        if not start <= step < stop:
            return
        offset = step - start
        shares = sign * ((planned.wanted - planned.before) // SCALE)
        flow = sign * planned.flow
        held = block.held.get(planned.sym)
        if held is None:
            held = block.held[planned.sym] = np.zeros(stop - start, dtype=np.int64)
        held[offset:] += shares
        self._cash[step:stop] += flow
        self._equity[step:stop] += flow + shares * block.marks[planned.sym][offset:]
        block.fills[offset] += sign

    def _after_refusal(
        self, block: _Block, refused: _Planned, sends: dict[int, list[_Planned]]
    ) -> None:
        """Re-plan after ``refused``: its fill never comes, and the symbol's next order (where
        the strategy first asks for something else) now starts from what is still held."""
        self._fill_effect(block, refused, -1)
        later = [
            p
            for step in sorted(s for s in sends if s > refused.step)
            for p in sends[step]
            if p.sym == refused.sym
        ]
        if not later:
            return
        following = later[0]
        self._fill_effect(block, following, -1)
        row_list = sends[following.step]
        at = row_list.index(following)
        if following.wanted == refused.before:
            del row_list[at]
            return
        again = self._planned(following.row, refused.sym, following.wanted, refused.before)
        row_list[at] = again
        self._fill_effect(block, again, 1)

    def _texts(self, steps: list[int]) -> dict[int, str]:
        """Close times of ``steps`` as the event stream writes them, rendered at once."""
        cols = self._cols
        at = cols.ts[cols.step_start[np.array(steps, dtype=np.int64)]]
        return dict(zip(steps, utc_texts(at), strict=True))

    def _marks(
        self, sym: int, start: int, stop: int, row_lo: int, row_hi: int
    ) -> npt.NDArray[np.int64]:
        """Symbol ``sym``'s last close at each step of ``start..stop-1`` (0 before its first)."""
        cols = self._cols
        rows = self._rows[sym]
        lo = _find(rows, row_lo)
        hi = _find(rows, row_hi)
        prior = int(cols.close[int(rows[lo - 1])]) if lo > 0 else 0
        mark = np.full(stop - start, prior, dtype=np.int64)
        if hi > lo:
            here = rows[lo:hi]
            steps = cols.step_of_row[here] - start
            seen = np.full(stop - start, -1, dtype=np.int64)
            seen[steps] = np.arange(hi - lo)
            last = np.maximum.accumulate(seen)
            mark = np.where(last >= 0, cols.close[here][np.maximum(last, 0)], prior)
        return mark.astype(np.int64, copy=False)

    # -- the busy steps --------------------------------------------------------------------

    def _first_breach(self, block: _Block, first: int, stop: int) -> int | None:
        """The first of steps ``first..stop-1`` (which change nothing but equity) whose equity
        is at or below the risk floor, or None."""
        floor = self._risk.equity_floor
        if stop <= first or floor is None:
            return None
        if block.low_floor is not floor:  # the floor or the columns moved: find the lows
            block.low_floor = floor
            low = self._equity[block.start : block.stop] <= decimal_floor_units(floor)
            block.lows = (block.start + np.flatnonzero(low)).tolist()
        at = bisect.bisect_left(block.lows, first)
        if at < len(block.lows) and block.lows[at] < stop:
            return block.lows[at]
        return None

    def _mark_ledger(self, block: _Block, step: int) -> None:
        """Mark the ledger's open positions at ``step``'s closes (equity and exposure are read
        only right after this; a flat symbol's mark changes neither)."""
        offset = step - block.start
        symbols, marked = self._cols.symbols, self._marked
        prices = {}
        for sym in self._holding:
            mark = int(block.marks[sym][offset])
            if marked.get(sym) != mark:
                marked[sym] = mark
                prices[symbols[sym]] = units_to_decimal(mark)
        if prices:
            self._ledger.mark_all(prices)

    def _mark_risk(self, now: datetime, session: date, step: int) -> bool:
        """Mark the risk engine at ``step``; True when a switch tripped (recorded by then)."""
        ledger = self._ledger
        cash, equity = ledger.cash, ledger.equity
        if decimal_to_units(cash, "cash") != int(self._cash[step]) or decimal_to_units(
            equity, "equity"
        ) != int(self._equity[step]):
            raise OutsideEnvelope(
                f"the ledger ({cash} cash, {equity} equity) disagrees with the columns at"
                f" {now.isoformat()}"
            )
        decisions = self._risk.on_mark(now, equity, session=session, data_ts=now)
        for decision in decisions:
            self._record(now, Topic.RISK, decision, None)
            if decision.action is Action.DISARM:
                raise OutsideEnvelope(
                    f"{decision.reason_code} disarms the run at {now.isoformat()}"
                )
        return bool(decisions)

    def _fill_due(self, step: int, now: datetime, session: date) -> None:
        due = self._due.pop(step, None)
        if due is None:
            return
        due.sort(key=lambda w: w.plan.fill_row)
        for sent in due:
            self._working[sent.plan.sym].remove(sent)
            record, fill = self._fill(sent, now)
            self._orders[sent.index] = record
            base = units_to_decimal(int(self._cols.open[sent.plan.fill_row]))
            self._fills.apply(fill, base, session, self._text)
            if sent.plan.wanted:
                self._holding.add(sent.plan.sym)
            else:
                self._holding.discard(sent.plan.sym)

    def _send(self, planned: _Planned, now: datetime, session: date) -> bool:
        """Check ``planned`` exactly as the gateway would, then send it or record the refusal
        as the gateway and the order desk do; False when that outcome breaks the plan."""
        cols = self._cols
        sym = planned.sym
        symbol = cols.symbols[sym]
        wanted = fixed_to_decimal(planned.wanted)
        working = self._working.get(sym, ())
        position = self._ledger.position(symbol)
        pending = sum((w.quantity * w.side.sign for w in working), _ZERO)
        current = position + pending
        delta = wanted - current
        if delta == 0:
            raise OutsideEnvelope(f"the plan of {symbol} disagrees with its position")
        side = _BUY if delta > 0 else _SELL
        quantity = abs(delta)
        reduce_only = current != 0 and abs(wanted) < abs(current) and (wanted * current) >= 0
        seq = self._seq
        self._seq += 1
        coid = self._coid(seq)
        same_side = sum((w.quantity for w in working if w.side is side), _ZERO)
        reducing = is_reducing(position, side, quantity, same_side)
        intent = trusted(
            OrderIntent,
            {
                "engine_id": self._engine_id,
                "intent_seq": seq,
                "client_order_id": coid,
                "symbol": symbol,
                "side": side,
                "quantity": quantity,
                "order_type": _MARKET,
                "limit_price": None,
                "stop_price": None,
                "time_in_force": _GTC,
                "reduce_only": reduce_only,
                "shadow": False,
            },
        )
        context = PreTradeContext(
            engine_id=self._engine_id,
            run_id=self._run_id,
            ts_utc=now,
            symbol=symbol,
            side=side,
            quantity=quantity,
            position=position,
            pending_same_side=same_side,
            reducing=reducing,
            reference_price=units_to_decimal(int(cols.close[planned.row])),
            session=session,
        )
        refusal = first_refusal(
            intent,
            context,
            self._arm_token,
            arm=self._arm,
            integrity=self._integrity,
            risk=self._risk_check,
            allocation=self._allocation,
        )
        if refusal is not None:
            check, upstream = refusal
            decision, topic, payload = refusal_record(intent, check, upstream, context)
            if decision.action is Action.DISARM or reduce_only:
                raise OutsideEnvelope(
                    f"the {check.value} check answers {decision.action.value} to {coid}"
                )
            self._stream.add(
                now, topic, "ORDER_REFUSED", payload, correlation_id=coid, ts_text=self._text
            )
            if decision.action is not Action.REJECT:  # a halt: the run records the decision
                self._record(now, Topic.RISK, decision, symbol)
            self._memo[sym] = (planned.wanted, planned.row)
            return planned.refused
        if planned.refused:
            raise OutsideEnvelope(f"{coid} was accepted where the plan expected a refusal")
        self._memo[sym] = None
        # the gateway's ORDER_SENT and the broker's ORDER_SUBMITTED, rendered canonically
        sent_as = "true" if reduce_only or reducing else "false"
        self._stream.add_json(
            now,
            Topic.OMS,
            "ORDER_SENT",
            f'{{"intent_seq":{seq},"limit_price":null,"order_type":"MARKET",'
            f'"quantity":"{format_decimal(quantity)}","reduce_only":{sent_as},'
            f'"side":"{side.value}","stop_price":null,"symbol":{self._symbol_json[sym]},'
            f'"time_in_force":"GTC"}}',
            correlation_id=coid,
            ts_text=self._text,
        )
        self._broker_seq += 1
        broker_order_id = f"SIM-{self._broker_seq:08d}"
        self._stream.add_json(
            now,
            Topic.BROKER,
            "ORDER_SUBMITTED",
            f'{{"broker_order_id":"{broker_order_id}","reason":null}}',
            correlation_id=coid,
            ts_text=self._text,
        )
        self._held[planned.sym] = planned.wanted
        sent = _Working(
            planned, coid, symbol, side, quantity, broker_order_id, now, len(self._orders)
        )
        self._orders.append(None)
        self._working.setdefault(sym, []).append(sent)
        if planned.fill_step >= 0:
            self._due.setdefault(planned.fill_step, []).append(sent)
        return True

    # -- orders and fills --------------------------------------------------------------------

    def _order_record(
        self, sent: _Working, filled: Decimal, average: Decimal | None, at: datetime
    ) -> OrderRecord:
        """The order manager's view of ``sent``: FILLED with ``filled`` at ``average``, or
        still SUBMITTED (nothing filled) at the end of the data."""
        status = OrderStatus.FILLED if filled else OrderStatus.SUBMITTED
        return (
            sent.coid,
            sent.symbol,
            sent.side,
            sent.quantity,
            status,
            filled,
            average,
            sent.broker_order_id,
            sent.created_at,
            at,
        )

    def _fill(self, sent: _Working, now: datetime) -> tuple[OrderRecord, Fill]:
        """Fill ``sent`` in full at its planned price (ORDER_FILLED); the caller applies it."""
        price, fee = sent.plan.price, sent.plan.fee
        if price is None:  # a free cost model: the planned price in cents
            price = Decimal(sent.plan.cents) * CENT
        fill_id = f"{sent.coid}-F1"
        filled = _ZERO + sent.quantity
        fill = trusted(
            Fill,
            {
                "broker_fill_id": fill_id,
                "client_order_id": sent.coid,
                "engine_id": self._engine_id,
                "symbol": sent.symbol,
                "side": sent.side,
                "quantity": sent.quantity,
                "price": price,
                "fee": fee,
                "ts_utc": now,
            },
        )
        quantity = format_decimal(sent.quantity)
        self._stream.add_json(
            now,
            Topic.BROKER,
            "ORDER_FILLED",
            f'{{"broker_fill_id":"{fill_id}","fee":"{format_decimal(fee)}",'
            f'"filled_quantity":"{format_decimal(filled)}","price":"{format_decimal(price)}",'
            f'"quantity":"{quantity}","side":"{sent.side.value}",'
            f'"symbol":{self._symbol_json[sent.plan.sym]}}}',
            correlation_id=sent.coid,
            ts_text=self._text,
        )
        return self._order_record(sent, filled, (_ZERO + sent.quantity * price) / filled, now), fill


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


def _find(rows: npt.NDArray[np.int32], row: int) -> int:
    """Index of the first of the sorted ``rows`` at or after ``row`` (searched as int32: an
    int64 key would make numpy convert the whole array on every search)."""
    return int(np.searchsorted(rows, np.int32(row)))


def _by_step(plan: list[_Planned]) -> dict[int, list[_Planned]]:
    """``{step: [planned, ...]}`` keeping row order within a step."""
    grouped: dict[int, list[_Planned]] = {}
    for planned in plan:
        grouped.setdefault(planned.step, []).append(planned)
    return grouped
