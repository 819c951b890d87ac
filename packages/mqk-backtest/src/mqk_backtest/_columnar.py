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
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Final

import numpy as np
import numpy.typing as npt

from mqk_backtest._columns import (
    SCALE,
    Columns,
    FastTargets,
    decimal_to_units,
    units_to_decimal,
    utc,
)
from mqk_backtest._envelope import OutsideEnvelope
from mqk_backtest._fills import FillRecorder
from mqk_backtest._orders import OrderLog, OrderRecord
from mqk_backtest._planner import NO_STEP, OrderPlanner, Planned, by_step, find
from mqk_backtest._steps import Block, StepColumns
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
    format_utc,
    trusted,
)
from mqk_strategy import fixed_to_decimal

__all__ = ["ColumnarKernel", "GateView", "KernelRun"]

BLOCK_ROWS = 4096
"""Bars planned at once, about (a refusal re-plans the rest of its block)."""

_MARK_CACHE: Final = 1 << 16
"""Distinct marks kept as Decimals at most (a long run's prices recur; ~8 MiB at most)."""

_ZERO: Final = Decimal(0)
_DAY0: Final = date(1970, 1, 1)
_BUY: Final = Side.BUY
_SELL: Final = Side.SELL
_SIDE_TEXT: Final = {side: side.value for side in Side}  # an enum's .value is a property call
_OMS: Final = Topic.OMS
_BROKER: Final = Topic.BROKER
_RISK: Final = Topic.RISK
_FILLED: Final = OrderStatus.FILLED
_SUBMITTED: Final = OrderStatus.SUBMITTED
_MARKET: Final = OrderType.MARKET
_GTC: Final = TimeInForce.GTC


@dataclass(frozen=True, slots=True)
class KernelRun:
    """What the kernel produced beyond the ledger's and the event stream's own state."""

    orders: OrderLog
    cash_units: npt.NDArray[np.int64]
    equity_units: npt.NDArray[np.int64]
    exposed: npt.NDArray[np.bool_]


@dataclass(slots=True)
class _Working:
    """A sent order waiting for its fill."""

    plan: Planned
    coid: str
    symbol: str
    side: Side
    quantity: Decimal
    quantity_text: str
    broker_order_id: str
    created_at: datetime
    created_text: str
    index: int

    def __init__(
        self,
        plan: Planned,
        coid: str,
        symbol: str,
        side: Side,
        quantity: Decimal,
        quantity_text: str,
        broker_order_id: str,
        created_at: datetime,
        created_text: str,
        index: int,
    ) -> None:
        # written out (not generated): compiled, this is native code (~5x faster per order)
        self.plan = plan
        self.coid = coid
        self.symbol = symbol
        self.side = side
        self.quantity = quantity
        self.quantity_text = quantity_text
        self.broker_order_id = broker_order_id
        self.created_at = created_at
        self.created_text = created_text
        self.index = index


class GateView:
    """The integrity view the kernel's orders are checked against: the run's integrity gate's
    sticky state, asked directly (what the run's own view answers, one call less per order)."""

    def __init__(self, status: Callable[[], Decision]) -> None:
        self._status = status

    def integrity_decision(self, symbol: str) -> Decision:
        """ALLOW, or the sticky decision that applies (to every symbol alike)."""
        return self._status()


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
        costs = CostModel.from_settings(settings)
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
        self._steps = StepColumns(cols, session_day, self._rows)
        self._held = [0] * len(cols.symbols)  # what each symbol holds once its orders fill
        self._memo: list[tuple[int, int] | None] = [None] * len(cols.symbols)
        self._working: dict[int, list[_Working]] = {}  # per symbol, oldest first
        self._due: dict[int, list[_Working]] = {}  # step -> working orders filling there
        self._text: str | None = None  # the current step's close time as events write it
        self._holding: set[int] = set()  # symbols the ledger holds a position in
        self._marked: dict[int, int] = {}  # the mark each symbol last got in the ledger
        self._mark_lists: dict[int, list[int]] = {}
        self._mark_decimals: dict[int, Decimal] = {}  # marks as Decimals, per distinct mark
        self._orders: list[OrderRecord | None] = []
        self._seq = 0
        self._broker_seq = 0
        self._decimals: dict[int, Decimal] = {}  # target quantities (1e-8 units) as Decimals
        self._sessions: dict[int, date] = {}  # session day number -> its date
        self._quantities: dict[Decimal, Decimal] = {}  # order quantities, one object each
        self._quantity_texts: dict[Decimal, str] = {}  # and their texts, rendered once
        self._planner = OrderPlanner(
            cols, targets.quantity, self._asked_rows, self._next_row, costs
        )

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
            self._orders[sent.index] = self._order_record(
                sent, _ZERO, None, sent.created_at, sent.created_text
            )
        records = [record for record in self._orders if record is not None]
        orders = OrderLog(self._engine_id, records)
        steps = self._steps
        return KernelRun(orders, steps.cash, steps.equity, steps.exposed)

    def _block(self, start: int, stop: int) -> None:
        cols = self._cols
        row_lo, row_hi = int(cols.step_start[start]), int(cols.step_start[stop])
        plan = self._plan_all(row_lo, row_hi)
        block = self._steps.open(start, stop)
        self._mark_lists = {}  # the block's marks as Python ints, per symbol, once read
        if len(self._mark_decimals) > _MARK_CACHE:  # prices recur: kept across blocks
            self._mark_decimals = {}
        self._recompute(block, start, plan)
        block.texts = self._steps.texts(block.busy)
        sends = by_step(plan)
        # the block's close times and sessions as Python ints, read once per busy step
        closes = cols.ts[cols.step_start[start:stop]].tolist()
        days = self._session_day[start:stop].tolist()
        first_breach, due = self._steps.first_breach, self._due
        done = start - 1
        k = 0
        while True:
            upcoming = block.busy[k] if k < len(block.busy) else stop
            # steps in between change nothing but equity; any of them (or the busy step
            # itself) at or below the risk floor trips a switch there, as bar by bar
            # (a marked step is left to the risk engine itself: a new session moves its floor)
            last = upcoming if upcoming == stop or upcoming in block.marked_steps else upcoming + 1
            floor = self._risk.equity_floor
            if floor is block.low_floor and not block.lows:
                breach = None  # no step of the block is at or below this floor
            else:
                breach = first_breach(block, done + 1, last, floor)
            if breach is None and k == len(block.busy):
                break
            step = breach if breach is not None else upcoming
            now = utc(closes[step - start])
            self._text = block.texts.get(step)
            session = self._session(days[step - start])
            filling = due.pop(step, None)
            if filling is not None:
                self._fill_due(filling, now, session)
            marked = breach is not None or step in block.marked_steps
            todo = sends.get(step, [])
            if marked or todo:
                self._mark_ledger(block, step)
            replanned = False
            if marked and self._mark_risk(now, session, step):
                # a switch tripped: flatten if asked, then everything is planned anew
                self._flatten(step, now, session)
                plan = self._plan_all(int(cols.step_start[step]), row_hi)
                sends = by_step(plan)
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
                self._steps.refresh(block, step + 1, self._risk.peak_equity)
                k = bisect.bisect_right(block.busy, step)
            elif step == upcoming:
                k += 1
        self._steps.close(block)

    def _session(self, day: int) -> date:
        """The session date of ``day`` (days since 1970-01-01), made once per session."""
        session = self._sessions.get(day)
        if session is None:
            session = self._sessions[day] = _DAY0 + timedelta(days=day)
        return session

    def _recompute(self, block: Block, first: int, plan: list[Planned]) -> None:
        """The block's columns from ``first`` on, from the ledger's state now, the working
        orders and ``plan`` (the orders not sent yet)."""
        ledger = self._ledger
        holdings = {
            sym: decimal_to_units(ledger.position(symbol), "position") // SCALE
            for sym, symbol in enumerate(self._cols.symbols)
        }
        self._steps.recompute(
            block,
            first,
            (w.plan for ws in self._working.values() for w in ws),
            plan,
            decimal_to_units(ledger.cash, "cash"),
            holdings,
            self._risk.peak_equity,
        )

    def _plan_all(self, row_from: int, row_hi: int) -> list[Planned]:
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
            row = int(rows[find(rows, row_hi) - 1])
            fill_row = int(self._next_row[row])
            fill_step = int(cols.step_of_row[fill_row]) if fill_row >= 0 else NO_STEP
            planned = Planned(row, step, sym, 0, self._held[sym], fill_row, fill_step)
            if fill_row >= 0:
                self._planner.price(planned)
            if not self._send(planned, now, session):
                raise OutsideEnvelope(f"a flattening order of {symbol} was refused")

    # -- planning --------------------------------------------------------------------------

    def _plan(self, sym: int, row_from: int, row_hi: int) -> list[Planned]:
        """Symbol ``sym``'s orders on rows ``row_from..row_hi-1`` from what it holds, its
        refused target and the risk engine's state now."""
        state = self._risk.trading_state
        if state is TradingState.DISARMED:
            raise OutsideEnvelope("the risk engine is disarmed")
        return self._planner.plan(
            sym,
            row_from,
            row_hi,
            held=self._held[sym],
            memo=self._memo_at(sym, row_from),
            halted=state is not TradingState.ACTIVE,
        )

    def _memo_at(self, sym: int, row_from: int) -> int | None:
        """The refused target of ``sym`` still in force at ``row_from`` (the order desk forgets
        it at the first row asking for something else)."""
        memo = self._memo[sym]
        if memo is None:
            return None
        value, since = memo
        rows = self._asked_rows[sym]
        lo = find(rows, since + 1)
        hi = find(rows, row_from)
        if (self._quantity[rows[lo:hi]] != value).any():
            self._memo[sym] = None
            return None
        return value

    def _after_refusal(
        self, block: Block, refused: Planned, sends: dict[int, list[Planned]]
    ) -> None:
        """Re-plan after ``refused``: its fill never comes, and the symbol's next order (where
        the strategy first asks for something else) now starts from what is still held."""
        self._steps.add(block, refused, -1)
        steps = list(sends)  # in step order (built from a plan in row order)
        later = steps[bisect.bisect_right(steps, refused.step) :]
        following = next(
            (p for step in later for p in sends[step] if p.sym == refused.sym),
            None,
        )
        if following is None:
            return
        self._steps.add(block, following, -1)
        row_list = sends[following.step]
        at = row_list.index(following)
        if following.wanted == refused.before:
            del row_list[at]
            return
        again = self._planner.planned(following.row, refused.sym, following.wanted, refused.before)
        row_list[at] = again
        self._steps.add(block, again, 1)

    # -- the busy steps --------------------------------------------------------------------

    def _mark_ledger(self, block: Block, step: int) -> None:
        """Mark the ledger's open positions at ``step``'s closes (equity and exposure are read
        only right after this; a flat symbol's mark changes neither)."""
        offset = step - block.start
        symbols, marked = self._cols.symbols, self._marked
        lists, decimals = self._mark_lists, self._mark_decimals
        prices = {}
        for sym in self._holding:
            marks = lists.get(sym)
            if marks is None:
                marks = lists[sym] = block.marks[sym].tolist()
            mark = marks[offset]
            if marked.get(sym) != mark:
                marked[sym] = mark
                price = decimals.get(mark)
                if price is None:
                    price = decimals[mark] = units_to_decimal(mark)
                prices[symbols[sym]] = price
        if prices:
            self._ledger.mark_all(prices)

    def _mark_risk(self, now: datetime, session: date, step: int) -> bool:
        """Mark the risk engine at ``step``; True when a switch tripped (recorded by then)."""
        ledger = self._ledger
        cash, equity = ledger.cash, ledger.equity
        if decimal_to_units(cash, "cash") != int(self._steps.cash[step]) or decimal_to_units(
            equity, "equity"
        ) != int(self._steps.equity[step]):
            raise OutsideEnvelope(
                f"the ledger ({cash} cash, {equity} equity) disagrees with the columns at"
                f" {now.isoformat()}"
            )
        decisions = self._risk.on_mark(now, equity, session=session, data_ts=now)
        for decision in decisions:
            self._record(now, _RISK, decision, None)
            if decision.action is Action.DISARM:
                raise OutsideEnvelope(
                    f"{decision.reason_code} disarms the run at {now.isoformat()}"
                )
        return bool(decisions)

    def _fill_due(self, due: list[_Working], now: datetime, session: date) -> None:
        """Fill the orders ``due`` at the step of ``now`` (taken off the due list)."""
        if len(due) > 1:
            due.sort(key=lambda w: w.plan.fill_row)
        for sent in due:
            self._working[sent.plan.sym].remove(sent)
            record, fill, price_text = self._fill(sent, now)
            self._orders[sent.index] = record
            base = units_to_decimal(int(self._cols.open[sent.plan.fill_row]))
            self._fills.apply(fill, base, session, self._text, price_text)
            if sent.plan.wanted:
                self._holding.add(sent.plan.sym)
            else:
                self._holding.discard(sent.plan.sym)

    def _send(self, planned: Planned, now: datetime, session: date) -> bool:
        """Check ``planned`` exactly as the gateway would, then send it or record the refusal
        as the gateway and the order desk do; False when that outcome breaks the plan."""
        cols = self._cols
        sym = planned.sym
        symbol = cols.symbols[sym]
        wanted = self._decimal(planned.wanted)
        working = self._working.get(sym)
        position = self._ledger.position(symbol)
        current = position
        if working:
            current += sum((w.quantity if w.side is _BUY else -w.quantity for w in working), _ZERO)
        delta = wanted - current
        if delta == 0:
            raise OutsideEnvelope(f"the plan of {symbol} disagrees with its position")
        side = _BUY if delta > 0 else _SELL
        quantity = self._shared(abs(delta))  # kept by the order record and the fill
        quantity_text = self._quantity_texts.get(quantity)
        if quantity_text is None:
            quantity_text = self._quantity_texts[quantity] = format_decimal(quantity)
        reduce_only = current != 0 and abs(wanted) < abs(current) and (wanted * current) >= 0
        seq = self._seq
        self._seq += 1
        coid = self._coid(seq)
        same_side = (
            sum((w.quantity for w in working if w.side is side), _ZERO) if working else _ZERO
        )
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
        context = PreTradeContext(  # positional: keywords cost a compiled call ~4x as much
            self._engine_id,  # engine_id
            self._run_id,  # run_id
            now,  # ts_utc
            symbol,  # symbol
            side,  # side
            quantity,  # quantity
            position,  # position
            same_side,  # pending_same_side
            reducing,  # reducing
            units_to_decimal(int(cols.close[planned.row])),  # reference_price
            session,  # session
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
                self._record(now, _RISK, decision, symbol)
            self._memo[sym] = (planned.wanted, planned.row)
            return planned.refused
        if planned.refused:
            raise OutsideEnvelope(f"{coid} was accepted where the plan expected a refusal")
        self._memo[sym] = None
        # the gateway's ORDER_SENT and the broker's ORDER_SUBMITTED, rendered canonically
        sent_as = "true" if reduce_only or reducing else "false"
        self._stream.add_json(
            now,
            _OMS,
            "ORDER_SENT",
            f'{{"intent_seq":{seq},"limit_price":null,"order_type":"MARKET",'
            f'"quantity":"{quantity_text}","reduce_only":{sent_as},'
            f'"side":"{_SIDE_TEXT[side]}","stop_price":null,"symbol":{self._symbol_json[sym]},'
            f'"time_in_force":"GTC"}}',
            correlation_id=coid,
            ts_text=self._text,
        )
        self._broker_seq += 1
        broker_order_id = f"SIM-{self._broker_seq:08d}"
        self._stream.add_json(
            now,
            _BROKER,
            "ORDER_SUBMITTED",
            f'{{"broker_order_id":"{broker_order_id}","reason":null}}',
            correlation_id=coid,
            ts_text=self._text,
        )
        self._held[planned.sym] = planned.wanted
        sent = _Working(
            planned,
            coid,
            symbol,
            side,
            quantity,
            quantity_text,
            broker_order_id,
            now,
            self._now_text(now),
            len(self._orders),
        )
        self._orders.append(None)
        self._working.setdefault(sym, []).append(sent)
        if planned.fill_step >= 0:
            self._due.setdefault(planned.fill_step, []).append(sent)
        return True

    def _shared(self, value: Decimal) -> Decimal:
        """An earlier Decimal identical to ``value`` (value and exponent) if there is one, so a
        long run's orders and fills hold one object per distinct quantity."""
        return _same(value, self._quantities.setdefault(value, value))

    def _decimal(self, units: int) -> Decimal:
        """``units`` (1e-8) as the Decimal the strategy host makes of them (targets repeat:
        each is converted once)."""
        value = self._decimals.get(units)
        if value is None:
            value = self._decimals[units] = fixed_to_decimal(units)
        return value

    # -- orders and fills --------------------------------------------------------------------

    def _order_record(
        self,
        sent: _Working,
        filled: Decimal,
        average: Decimal | None,
        at: datetime,
        at_text: str,
    ) -> OrderRecord:
        """The order manager's view of ``sent``: FILLED with ``filled`` at ``average``, or
        still SUBMITTED (nothing filled) at the end of the data; with its times' texts."""
        status = _FILLED if filled else _SUBMITTED
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
            sent.created_text,
            at_text,
        )

    def _now_text(self, now: datetime) -> str:
        """``format_utc(now)``: the current step's text the events use, when it has one."""
        text = self._text
        return format_utc(now) if text is None else text

    def _fill(self, sent: _Working, now: datetime) -> tuple[OrderRecord, Fill, str]:
        """Fill ``sent`` in full at its planned price (ORDER_FILLED): its order record, fill
        and price text (the caller applies the fill)."""
        price, fee = sent.plan.price, sent.plan.fee
        if price is None:  # a free cost model: the planned price in cents
            price = Decimal(sent.plan.cents) * CENT
        fill_id = f"{sent.coid}-F1"
        filled = _same(_ZERO + sent.quantity, sent.quantity)  # as the order manager sums it
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
        quantity = sent.quantity_text  # filled in full: the filled quantity's text too
        price_text = format_decimal(price)  # the fill recorder's event reuses it
        self._stream.add_json(
            now,
            _BROKER,
            "ORDER_FILLED",
            f'{{"broker_fill_id":"{fill_id}","fee":"{format_decimal(fee) if fee else "0"}",'
            f'"filled_quantity":"{quantity}","price":"{price_text}",'
            f'"quantity":"{quantity}","side":"{_SIDE_TEXT[sent.side]}",'
            f'"symbol":{self._symbol_json[sent.plan.sym]}}}',
            correlation_id=sent.coid,
            ts_text=self._text,
        )
        average = _same((_ZERO + sent.quantity * price) / filled, price)
        record = self._order_record(sent, filled, average, now, self._now_text(now))
        return record, fill, price_text


def _same(value: Decimal, known: Decimal) -> Decimal:
    """``known`` when it is identical to ``value`` (value and exponent): one object kept
    instead of two equal ones."""
    return known if value == known and value.same_quantum(known) else value
