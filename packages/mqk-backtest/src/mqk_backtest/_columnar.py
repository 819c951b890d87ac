"""The columnar kernel: fast mode's path for the common envelope, with the same results.

The envelope: one strategy with a vectorised form, not shadow, MARKET orders only (no stops or
take-profits), whole-share targets that never jump from long to short in one step, no submit
latency, no partial fills, no same-bar fills, and bars the integrity scan proves clean (every
row ALLOW with reason OK, no tolerated gaps, no stale-feed pause). Inside it, every order the
strategy asks for is sent at the bar it asks on and filled in full at that symbol's next bar's
open (cost model applied), unless a gate refuses it. So the kernel:

1. derives the whole order schedule from the precomputed targets, prices each fill with the
   SimBroker's own :class:`~mqk_execution.CostModel`, and computes cash, positions and equity of
   every step as int64 columns;
2. walks only the steps where something happens — a fill, an order, a session's first or last
   step, a new equity peak — and there runs the real components: every fill goes into the
   real :class:`~mqk_portfolio.EngineLedger` and :class:`~mqk_risk.RiskEngine` (PDT), every
   order through the gateway's own pre-trade checks (:func:`~mqk_execution.first_refusal`:
   armed, integrity, risk, allocation), and the risk engine is marked there;
3. proves the steps in between quiet: the session and peak are unchanged there, so the risk
   floor is too, and the lowest equity of each such stretch must stay above it.

Anything the schedule did not assume — a refused order, a risk decision, equity reaching the
floor, a ledger that disagrees with the columns — raises :class:`OutsideEnvelope`, and the run
is redone by the step engine from the start. The events, orders, fills and equity are exactly
those of bar-by-bar mode (the fast == reference tests run through this kernel).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
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
)
from mqk_backtest._fills import FillRecorder
from mqk_backtest._stream import EventStream
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
)
from mqk_integrity import FrameScan
from mqk_portfolio import EngineLedger
from mqk_risk import RiskEngine
from mqk_schemas import (
    Fill,
    Order,
    OrderIntent,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
    Topic,
    client_order_id,
    format_decimal,
)
from mqk_strategy import fixed_to_decimal

__all__ = ["ColumnarKernel", "KernelRun", "OutsideEnvelope", "envelope_problem"]

_ZERO = Decimal(0)
_DAY0 = date(1970, 1, 1)
_BUY, _SELL = Side.BUY, Side.SELL
_MARKET, _GTC, _FILLED = OrderType.MARKET, TimeInForce.GTC, OrderStatus.FILLED
_INT64_HEADROOM = 2**62


class OutsideEnvelope(Exception):  # noqa: N818 - a signal to fall back, not a failure
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

    orders: tuple[Order, ...]
    cash_units: npt.NDArray[np.int64]
    equity_units: npt.NDArray[np.int64]
    exposed: npt.NDArray[np.bool_]


@dataclass(slots=True)
class _Schedule:
    """Every order the targets ask for, in submission order (one row per order)."""

    row: npt.NDArray[np.int64]
    sym: npt.NDArray[np.int64]
    wanted: npt.NDArray[np.int64]
    before: npt.NDArray[np.int64]
    fill_row: npt.NDArray[np.int64]  # -1: the order rests at the end of the data


@dataclass(slots=True)
class _Working:
    """A sent order waiting for its fill."""

    coid: str
    symbol: str
    side: Side
    quantity: Decimal
    broker_order_id: str
    created_at: datetime


class ColumnarKernel:
    """Runs one backtest inside the envelope (see the module docstring)."""

    def __init__(
        self,
        *,
        cols: Columns,
        targets: FastTargets,
        session_day: npt.NDArray[np.int64],
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
        progress: Callable[[int, int], None] | None,
    ) -> None:
        self._cols = cols
        self._targets = targets
        self._session_day = session_day
        self._costs = CostModel.from_settings(settings)
        self._engine_id = engine_id
        self._run_id = run_id
        self._starting_cash = starting_cash
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

    # -- 1. the schedule and its columns ------------------------------------------------------

    def _schedule(self) -> _Schedule:
        cols, targets = self._cols, self._targets
        parts: list[tuple[npt.NDArray[np.int64], ...]] = []
        for index in range(len(cols.symbols)):
            rows = np.flatnonzero(cols.sym == index).astype(np.int64)
            asked = rows[targets.active[rows]]
            if asked.size == 0:
                continue
            wanted = targets.quantity[asked]
            before = np.r_[np.int64(0), wanted[:-1]]
            change = wanted != before
            order_rows, wanted, before = asked[change], wanted[change], before[change]
            if (np.sign(wanted) * np.sign(before) < 0).any():
                raise OutsideEnvelope("a target crosses from long to short in one step")
            after = np.searchsorted(rows, order_rows) + 1
            fill_row = np.where(after < rows.shape[0], rows[np.minimum(after, rows.size - 1)], -1)
            symbol = np.full(order_rows.shape[0], index, dtype=np.int64)
            parts.append((order_rows, symbol, wanted, before, fill_row.astype(np.int64)))
        if not parts:
            empty = np.zeros(0, dtype=np.int64)
            return _Schedule(empty, empty, empty, empty, empty)
        merged = [np.concatenate([p[k] for p in parts]) for k in range(5)]
        order = np.argsort(merged[0], kind="stable")
        return _Schedule(*(column[order] for column in merged))

    def _fill_prices(self, plan: _Schedule) -> tuple[list[Decimal], list[Decimal]]:
        """Each filled order's price and fee, from the SimBroker's cost model (CENT tick)."""
        cols, costs = self._cols, self._costs
        prices: list[Decimal] = []
        fees: list[Decimal] = []
        for f, wanted, before in zip(
            plan.fill_row.tolist(), plan.wanted.tolist(), plan.before.tolist(), strict=True
        ):
            if f < 0:
                prices.append(_ZERO)
                fees.append(_ZERO)
                continue
            side = _BUY if wanted > before else _SELL
            open_ = units_to_decimal(int(cols.open[f]))
            high = units_to_decimal(int(cols.high[f]))
            low = units_to_decimal(int(cols.low[f]))
            price = costs.fill_price(open_, side, None, CENT, open_, high, low)
            quantity = Decimal(abs(wanted - before) // SCALE)
            prices.append(price)
            fees.append(costs.order_fee_total(costs.raw_commission(quantity, price)))
        return prices, fees

    def _curves(
        self, plan: _Schedule, prices: list[Decimal], fees: list[Decimal]
    ) -> tuple[
        npt.NDArray[np.int64],
        npt.NDArray[np.int64],
        npt.NDArray[np.bool_],
        dict[int, npt.NDArray[np.int64]],
    ]:
        """Cash, equity and exposure of every step, and each symbol's mark per step."""
        cols = self._cols
        n = cols.steps
        filled = plan.fill_row >= 0
        fill_rows = plan.fill_row[filled]
        fill_steps = cols.step_of_row[fill_rows]
        shares = (plan.wanted[filled] - plan.before[filled]) // SCALE
        price_units = np.array(
            [decimal_to_units(p, "fill price") for p, ok in zip(prices, filled, strict=True) if ok],
            dtype=np.int64,
        )
        fee_units = np.array(
            [decimal_to_units(f, "fee") for f, ok in zip(fees, filled, strict=True) if ok],
            dtype=np.int64,
        )
        flows = np.zeros(n, dtype=np.int64)
        np.add.at(flows, fill_steps, -(shares * price_units) - fee_units)
        cash = decimal_to_units(self._starting_cash, "starting cash") + np.cumsum(flows)
        equity = cash.copy()
        exposed = np.zeros(n, dtype=np.bool_)
        marks: dict[int, npt.NDArray[np.int64]] = {}
        fill_sym = plan.sym[filled]
        for index in range(len(cols.symbols)):
            rows = np.flatnonzero(cols.sym == index)
            steps = cols.step_of_row[rows]
            mark = np.zeros(n, dtype=np.int64)
            mark[steps] = cols.close[rows]
            seen = np.zeros(n, dtype=np.int64)
            seen[steps] = 1
            last = np.maximum.accumulate(np.where(seen == 1, np.arange(n), -1))
            mark = np.where(last >= 0, mark[np.maximum(last, 0)], 0)
            marks[index] = mark
            mine = fill_sym == index
            if not mine.any():
                continue
            moves = np.zeros(n, dtype=np.int64)
            moves[fill_steps[mine]] = shares[mine]
            held = np.cumsum(moves)
            equity += held * mark
            exposed |= held != 0
        return cash, equity, exposed, marks

    # -- 2. the walk over the steps where something happens ----------------------------------

    def run(self) -> KernelRun:
        """Run the backtest; raises :class:`OutsideEnvelope` when it leaves the envelope."""
        cols = self._cols
        n = cols.steps
        plan = self._schedule()
        prices, fees = self._fill_prices(plan)
        cash, equity, exposed, marks = self._curves(plan, prices, fees)

        days = self._session_day
        first = np.r_[True, days[1:] != days[:-1]]
        last = np.r_[days[1:] != days[:-1], True]
        initial = decimal_to_units(self._starting_cash, "starting cash")
        running = np.maximum.accumulate(np.maximum(equity, initial))
        peak_before = np.r_[np.int64(initial), running[:-1]]
        marked = first | last | (equity > peak_before)
        mark_steps = np.flatnonzero(marked)
        # lowest equity of each stretch [mark_steps[k], mark_steps[k+1]) without its mark step
        masked = np.where(marked, np.iinfo(np.int64).max, equity)
        stretch_low = np.minimum.reduceat(masked, mark_steps)
        stretch_of_mark = np.full(n, -1, dtype=np.int64)
        stretch_of_mark[mark_steps] = np.arange(mark_steps.shape[0])

        order_steps = cols.step_of_row[plan.row]
        filled_mask = plan.fill_row >= 0
        fill_steps = np.where(filled_mask, cols.step_of_row[np.maximum(plan.fill_row, 0)], -1)
        busy = np.unique(np.concatenate([mark_steps, order_steps, fill_steps[filled_mask]]))

        # per step: the orders sent there and the fills made there (indices into the plan)
        fills_by_step = _group(fill_steps[filled_mask], np.flatnonzero(filled_mask))
        orders_by_step = _group(order_steps, np.arange(plan.row.shape[0]))
        first_step = {
            index: int(cols.step_of_row[int(np.argmax(cols.sym == index))])
            for index in range(len(cols.symbols))
        }

        working: dict[int, _Working] = {}
        orders: list[Order | None] = [None] * int(plan.row.shape[0])
        next_seq = 0
        report_every = max(n // 200, 1)
        next_report = 0
        for step in busy.tolist():
            now = utc(int(cols.ts[int(cols.step_start[step])]))
            session = _DAY0 + timedelta(days=int(days[step]))
            for k in fills_by_step.get(step, ()):
                order, fill = self._fill(working.pop(k), prices[k], fees[k], now)
                orders[k] = order
                base = units_to_decimal(int(cols.open[int(plan.fill_row[k])]))
                self._fills.apply(fill, base, session)
            sends = orders_by_step.get(step, ())
            stretch = int(stretch_of_mark[step])
            if stretch >= 0 or sends:
                self._ledger.mark_all(
                    {
                        cols.symbols[i]: units_to_decimal(int(m[step]))
                        for i, m in marks.items()
                        if first_step[i] <= step
                    }
                )
            if stretch >= 0:
                self._mark_risk(now, session, step, cash, equity, int(stretch_low[stretch]))
            for k in sends:
                working[k] = self._send(plan, k, next_seq, now)
                orders[k] = self._sent_order(working[k], now)
                next_seq += 1
            if self._progress is not None and step >= next_report:
                self._progress(step, n)
                next_report = step + report_every
        done = tuple(order for order in orders if order is not None)
        return KernelRun(done, cash, equity, exposed)

    def _mark_risk(
        self,
        now: datetime,
        session: date,
        step: int,
        cash: npt.NDArray[np.int64],
        equity: npt.NDArray[np.int64],
        stretch_low: int,
    ) -> None:
        ledger = self._ledger
        if decimal_to_units(ledger.cash, "cash") != int(cash[step]) or decimal_to_units(
            ledger.equity, "equity"
        ) != int(equity[step]):
            raise OutsideEnvelope(
                f"the ledger ({ledger.cash} cash, {ledger.equity} equity) disagrees with the"
                f" columns at {now.isoformat()}"
            )
        if self._risk.on_mark(now, ledger.equity, session=session, data_ts=now):
            raise OutsideEnvelope(f"a risk switch trips at {now.isoformat()}")
        floor = self._risk.equity_floor
        if floor is not None and stretch_low <= decimal_floor_units(floor):
            raise OutsideEnvelope(f"equity reaches the risk floor after {now.isoformat()}")

    def _send(self, plan: _Schedule, k: int, seq: int, now: datetime) -> _Working:
        """Check order ``k`` of the plan exactly as the gateway would and record it as sent."""
        cols = self._cols
        row = int(plan.row[k])
        symbol = cols.symbols[int(plan.sym[k])]
        wanted = fixed_to_decimal(int(plan.wanted[k]))
        current = self._ledger.position(symbol) + _ZERO
        delta = wanted - current
        side = _BUY if delta > 0 else _SELL
        quantity = abs(delta)
        reduce_only = current != 0 and abs(wanted) < abs(current) and (wanted * current) >= 0
        coid = client_order_id(self._engine_id, self._run_id, seq)
        reducing = is_reducing(current, side, quantity, _ZERO)
        intent = OrderIntent.model_construct(
            engine_id=self._engine_id,
            intent_seq=seq,
            client_order_id=coid,
            symbol=symbol,
            side=side,
            quantity=quantity,
            order_type=_MARKET,
            limit_price=None,
            stop_price=None,
            time_in_force=_GTC,
            reduce_only=reduce_only,
            shadow=False,
        )
        context = PreTradeContext(
            engine_id=self._engine_id,
            run_id=self._run_id,
            ts_utc=now,
            symbol=symbol,
            side=side,
            quantity=quantity,
            position=current,
            pending_same_side=_ZERO,
            reducing=reducing,
            reference_price=units_to_decimal(int(cols.close[row])),
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
            raise OutsideEnvelope(
                f"the {refusal[0].value} check refuses {coid} at {now.isoformat()}"
            )
        stream = self._stream
        stream.add_plain(
            now,
            Topic.OMS,
            "ORDER_SENT",
            {
                "intent_seq": seq,
                "symbol": symbol,
                "side": side.value,
                "quantity": format_decimal(quantity),
                "order_type": "MARKET",
                "limit_price": None,
                "stop_price": None,
                "time_in_force": "GTC",
                "reduce_only": reduce_only or reducing,
            },
            correlation_id=coid,
        )
        broker_order_id = f"SIM-{seq + 1:08d}"
        stream.add_plain(
            now,
            Topic.BROKER,
            "ORDER_SUBMITTED",
            {"reason": None, "broker_order_id": broker_order_id},
            correlation_id=coid,
        )
        return _Working(coid, symbol, side, quantity, broker_order_id, now)

    def _sent_order(self, sent: _Working, now: datetime) -> Order:
        return Order.model_construct(
            client_order_id=sent.coid,
            engine_id=self._engine_id,
            symbol=sent.symbol,
            side=sent.side,
            quantity=sent.quantity,
            order_type=_MARKET,
            limit_price=None,
            stop_price=None,
            time_in_force=_GTC,
            status=OrderStatus.SUBMITTED,
            filled_quantity=_ZERO,
            average_fill_price=None,
            broker_order_id=sent.broker_order_id,
            replaces=None,
            created_at=sent.created_at,
            updated_at=now,
        )

    def _fill(
        self, sent: _Working, price: Decimal, fee: Decimal, now: datetime
    ) -> tuple[Order, Fill]:
        """Fill order ``sent`` in full at ``price`` (ORDER_FILLED); the caller applies it."""
        fill_id = f"{sent.coid}-F1"
        filled = _ZERO + sent.quantity
        fill = Fill.model_construct(
            broker_fill_id=fill_id,
            client_order_id=sent.coid,
            engine_id=self._engine_id,
            symbol=sent.symbol,
            side=sent.side,
            quantity=sent.quantity,
            price=price,
            fee=fee,
            ts_utc=now,
        )
        self._stream.add_plain(
            now,
            Topic.BROKER,
            "ORDER_FILLED",
            {
                "broker_fill_id": fill_id,
                "symbol": sent.symbol,
                "side": sent.side.value,
                "quantity": format_decimal(sent.quantity),
                "price": format_decimal(price),
                "fee": format_decimal(fee),
                "filled_quantity": format_decimal(filled),
            },
            correlation_id=sent.coid,
        )
        order = Order.model_construct(
            client_order_id=sent.coid,
            engine_id=self._engine_id,
            symbol=sent.symbol,
            side=sent.side,
            quantity=sent.quantity,
            order_type=_MARKET,
            limit_price=None,
            stop_price=None,
            time_in_force=_GTC,
            status=_FILLED,
            filled_quantity=filled,
            average_fill_price=(_ZERO + sent.quantity * price) / filled,
            broker_order_id=sent.broker_order_id,
            replaces=None,
            created_at=sent.created_at,
            updated_at=now,
        )
        return order, fill


def _group(steps: npt.NDArray[np.int64], items: npt.NDArray[np.int64]) -> dict[int, list[int]]:
    """``{step: [item, ...]}`` keeping the items' order within a step."""
    grouped: dict[int, list[int]] = {}
    for step, item in zip(steps.tolist(), items.tolist(), strict=True):
        grouped.setdefault(step, []).append(item)
    return grouped
