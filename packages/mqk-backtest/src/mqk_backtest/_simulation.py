"""The backtest loop: bars -> integrity -> broker fills -> ledger -> risk -> strategy -> gateway.

Every component is the real one a paper run uses (IntegrityGate, StrategyHost, ExecutionGateway
with ArmAuthority, RiskEngine, AllocationGuard, SimBroker, EngineLedger). Bars are grouped into
*steps* (all symbols' bars with one close time) and each step runs, in order:

1. stale-feed check at the step's close time, then each bar through the integrity gate
   (a REJECTed bar is neither traded on nor shown to the strategy);
2. the SimBroker fills resting orders against the bar (fills reach the ledger and risk);
3. the ledger is marked at the step's closes and the risk engine checks equity (a
   FLATTEN_AND_HALT submits reduce-only orders to flatten);
4. the strategy sees the bar; targets that differ from position + working orders become
   intents through the gateway (MARKET, filled from the next bar's open);
5. the step's cash and equity are recorded.

``mode="reference"`` runs every step like that, calling the strategy host bar by bar.
``mode="fast"`` gives exactly the same results: strategy targets come from the strategy's
vectorised form (equal to bar-by-bar by its contract), and *quiet* stretches — no working
order, every target already held, no integrity issue, no stale feed, same session, and equity
strictly between the risk floor and the peak — are advanced in one vectorised step, because
each of their bars would change nothing but the equity mark.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from mqk_backtest._columnar import ColumnarKernel, GateView
from mqk_backtest._columns import (
    SCALE,
    FastTargets,
    columns_of,
    decimal_floor_units,
    decimal_to_units,
    epoch_us,
    units_to_decimal,
    utc,
)
from mqk_backtest._envelope import OutsideEnvelope, envelope_problem
from mqk_backtest._fills import FillRecorder
from mqk_backtest._memory import return_free_memory
from mqk_backtest._request import BacktestRequest, BacktestResult, EquityCurve
from mqk_backtest._stream import EventStream
from mqk_backtest._targets import vectorised_targets
from mqk_backtest.errors import BacktestInputError
from mqk_execution import (
    AllocationGuardCheck,
    ArmAuthority,
    ExecutionEvent,
    ExecutionGateway,
    ExecutionSettings,
    OrderDesk,
    RiskEngineCheck,
    SimBroker,
    SubmitResult,
    base_price,
)
from mqk_integrity import FrameScan, IntegrityGate, IntegritySettings, SessionGrid, scan_frame
from mqk_isolation import AllocationGuard
from mqk_portfolio import EngineLedger, LedgerView
from mqk_risk import RiskEngine, load_risk_limits
from mqk_schemas import (
    Action,
    AuditSpool,
    Bar,
    Decision,
    Fill,
    Order,
    OrderIntent,
    TargetPosition,
    Timeframe,
    Topic,
    format_decimal,
)
from mqk_strategy import (
    StrategyEvent,
    StrategyEventType,
    StrategyHost,
    StrategyRegistry,
    StrategySignal,
    VectorisedStrategy,
    fixed_to_decimal,
)

__all__ = ["run_simulation"]

_ZERO = Decimal(0)
_RECORDED_HOST_EVENTS = frozenset({StrategyEventType.STRATEGY_ERROR, StrategyEventType.BAR_REFUSED})


class _Simulation:
    """One backtest run over the real components (see the module docstring)."""

    def __init__(
        self,
        request: BacktestRequest,
        registry: StrategyRegistry,
        mode: str,
        progress: Callable[[int, int], None] | None,
        *,
        columnar: bool = True,
        fallback: str | None = None,
    ) -> None:
        config = request.config
        settings = config.settings
        self._request = request
        self._mode = mode
        self._progress = progress
        self._engine_id = config.engine_id
        self._run_id = request.run_id
        self._timeframe: Timeframe = settings.engine.timeframe
        if request.bars.timeframe is not self._timeframe:
            raise BacktestInputError(
                f"bars are {request.bars.timeframe} but engine {self._engine_id} trades"
                f" {self._timeframe}"
            )
        if len(request.bars) == 0:
            raise BacktestInputError("no bars to backtest")
        # the columnar kernel reads the scan only through counts and (reordered) actions, so
        # it can scan a symbol-by-symbol file as it is; the step engine needs it in its order
        self._cols = columns_of(request.bars, sorted_copy=not columnar or mode != "fast")
        self._now = utc(int(self._cols.ts[0]))
        self._stream = EventStream(self._run_id, self._engine_id)

        data = IntegritySettings.model_validate(settings.data.model_dump())
        self._grid = SessionGrid(data.calendar, self._timeframe)
        self._scan: FrameScan | None = scan_frame(self._cols.frame, data, grid=self._grid)
        _refuse_bars_of_another_timeframe(self._scan)
        self._gate = IntegrityGate(data, self._timeframe, started_at=self._now, grid=self._grid)
        self._stale_after = data.stale_feed_seconds * 1_000_000
        pos, _ = self._grid.locate(self._cols.ts[self._cols.step_start[:-1]])
        labels = self._grid.session_days
        self._session_day = labels[np.minimum(pos, labels.shape[0] - 1)].astype(np.int32)

        starting_cash: Decimal = settings.broker.starting_cash
        self._starting_cash = starting_cash
        self._ledger = EngineLedger(self._engine_id, starting_cash)
        view = LedgerView(self._ledger)
        self._risk = RiskEngine(
            load_risk_limits(settings.risk),
            engine_id=self._engine_id,
            session_of=self._session_of,
            initial_equity=starting_cash,
        )
        execution = ExecutionSettings.model_validate(settings.execution.model_dump())
        guard = AllocationGuard.from_settings(
            [settings.engine.model_dump()],
            market_buffer=(execution.spread_bps / 2 + execution.slippage_cap_bps) / 10_000,
        )
        self._risk_check = RiskEngineCheck(self._risk, view)
        self._allocation_check = AllocationGuardCheck(guard, view, lambda: self._ledger.equity)
        self._broker = SimBroker(
            execution,
            clock=self._clock,
            account_id=settings.broker.account_id,
            starting_cash=starting_cash,
            currency=settings.broker.currency,
        )
        authority = ArmAuthority(self._run_id, self._engine_id)
        self._arm_token = authority.arm()
        self._authority = authority
        self._gateway = ExecutionGateway(
            engine_id=self._engine_id,
            run_id=self._run_id,
            broker=self._broker,
            arm_verifier=authority.verifier,
            integrity=self,
            risk=self._risk_check,
            allocation=self._allocation_check,
            positions=self._ledger,
            clock=self._clock,
            event_sink=self._on_execution_event,
            on_fill=self._on_fill,
        )
        self._prices: dict[str, Decimal] = {}
        self._desk = OrderDesk(
            gateway=self._gateway,
            ledger=self._ledger,
            engine_id=self._engine_id,
            run_id=self._run_id,
            next_seq=0,
            prices=self._prices,
            audit=self._desk_audit,
            on_refusal=self._on_refusal,
        )
        self._desk.token = self._arm_token
        self._host = StrategyHost.from_engine_config(
            settings.engine, registry=registry, record=self._on_strategy_event
        )
        self._shadow = bool(settings.engine.shadow)
        self._fills = FillRecorder(self._ledger, self._risk, self._stream)
        self._halted: str | None = None
        self._disarmed: str | None = None
        self._last_close: dict[int, int] = {}
        self._bar_of: dict[str, Bar] = {}
        self._fast = self._fast_targets(registry) if mode == "fast" else None
        self._columnar_problem = (
            envelope_problem(
                self._cols,
                self._fast,
                self._scan,
                execution,
                shadow=self._shadow,
                stale_after_us=self._stale_after,
                starting_cash=starting_cash,
            )
            if columnar
            else "the step engine was asked for"
        )
        if fallback is not None:
            self._columnar_problem = f"left the columnar kernel: {fallback}"
        if self._columnar_problem is not None and self._cols.order is not None:
            # the step engine runs after all: it reads the scan row by row in engine order
            self._cols = columns_of(request.bars)
            self._scan = scan_frame(self._cols.frame, data, grid=self._grid)

        n = self._cols.steps
        starts = self._cols.step_start[:-1]
        one_bar_steps = starts.shape[0] == self._cols.ts.shape[0]  # then steps are the rows
        self._eq_ts = self._cols.ts if one_bar_steps else self._cols.ts[starts]
        self._eq_cash = np.zeros(n, dtype=np.int64)
        self._eq_equity = np.zeros(n, dtype=np.int64)
        self._eq_exposed = np.zeros(n, dtype=np.bool_)

    def release(self) -> None:
        """Drop every component. They call back into this simulation (clock, event sinks,
        integrity view), so a run is a web of reference cycles, which only the cyclic
        collector frees (and it is paused during a run, then not run at once): cutting the
        web at its hub lets reference counting free the columns, the scan and the
        components when the run ends."""
        self._stream.abort_spool()  # a no-op once the run finished its spool
        self.__dict__.clear()

    def spool_audit_log(self, directory: Path) -> None:
        """Have a helper process chain the audit log in ``directory`` during the run (see
        :class:`~mqk_schemas.AuditSpool`). A spool that cannot start changes nothing but the
        time: the artifacts then render the log themselves."""
        try:
            spool = AuditSpool(directory, self._run_id, self._engine_id)
        except OSError:
            return
        self._stream.spool_to(spool)

    # -- views the components call back ---------------------------------------------------

    def _clock(self) -> datetime:
        return self._now

    def _session_of(self, ts: datetime) -> date:
        pos, _ = self._grid.locate_one(epoch_us(ts))
        labels = self._grid.session_days
        return date(1970, 1, 1) + timedelta(days=int(labels[min(pos, labels.shape[0] - 1)]))

    def integrity_decision(self, symbol: str) -> Decision:
        """The gateway's integrity view: the gate's sticky state (ALLOW when clear)."""
        return self._gate.status()

    # -- event sinks ------------------------------------------------------------------------

    def _on_execution_event(self, event: ExecutionEvent) -> None:
        self._stream.add(
            event.ts_utc,
            event.topic,
            event.event_type,
            dict(event.payload),
            correlation_id=event.client_order_id,
        )
        if event.event_type == "ORDER_REJECTED":  # the broker said no: the reject-storm switch
            reason = event.payload.get("reason")
            for decision in self._risk.on_reject(
                event.ts_utc,
                client_order_id=event.client_order_id,
                reason_code=reason if isinstance(reason, str) else None,
            ):
                self._record_decision(Topic.RISK, decision, None)

    def _on_strategy_event(self, event: StrategyEvent) -> None:
        if event.event_type in _RECORDED_HOST_EVENTS:
            payload = dict(event.payload)
            if event.decision is not None:
                payload.update(
                    reason_code=event.decision.reason_code,
                    message=event.decision.message,
                    evidence=event.decision.evidence,
                )
            self._stream.add(
                utc(event.ts_close_us), Topic.STRATEGY, event.event_type.value, payload
            )
            if event.event_type is StrategyEventType.STRATEGY_ERROR and self._halted is None:
                self._halted = f"STRATEGY_ERROR at {utc(event.ts_close_us).isoformat()}"

    def _on_fill(self, fill: Fill) -> None:
        self._fills.apply(fill, self._base_of(fill))

    def _base_of(self, fill: Fill) -> Decimal | None:
        """The fill's pre-cost price on the bar it filled on (None if unknown)."""
        bar = self._bar_of.get(fill.symbol)
        if bar is None:
            return None
        order = self._gateway.order(fill.client_order_id)
        return base_price(
            order.side,
            order.order_type,
            order.limit_price,
            order.stop_price,
            bar.open,
            bar.high,
            bar.low,
        )

    def _record_decision(self, topic: Topic, decision: Decision, symbol: str | None) -> None:
        payload: dict[str, Any] = {
            "action": decision.action.value,
            "reason_code": decision.reason_code,
            "message": decision.message,
            "evidence": decision.evidence,
        }
        if symbol is not None:
            payload["symbol"] = symbol
        self._stream.add(self._now, topic, "DECISION", payload)
        if decision.action is Action.DISARM and self._disarmed is None:
            self._disarmed = f"{decision.reason_code} at {self._now.isoformat()}"
            self._authority.disarm()
        elif decision.action in (Action.HALT_NEW, Action.FLATTEN_AND_HALT) and self._halted is None:
            self._halted = f"{decision.reason_code} at {self._now.isoformat()}"

    # -- strategy targets -----------------------------------------------------------------

    def _fast_targets(self, registry: StrategyRegistry) -> FastTargets | None:
        """Vectorised targets for every row, or None when the strategy has no such form."""
        specs = self._request.config.settings.engine.strategies
        if len(specs) != 1:
            return None
        strategy = registry.build(specs[0].name, specs[0].params)
        if not isinstance(strategy, VectorisedStrategy):
            return None
        assert self._scan is not None
        return vectorised_targets(strategy, self._cols, self._scan.actions)

    def _signal_targets(
        self, row: int
    ) -> tuple[TargetPosition, tuple[Decimal, Decimal | None] | None] | None:
        """The precomputed target (and stop) of ``row``, or None during warm-up."""
        assert self._fast is not None
        if not self._fast.active[row]:
            return None
        symbol = self._cols.symbols[int(self._cols.sym[row])]
        target = TargetPosition(
            symbol=symbol, quantity=fixed_to_decimal(int(self._fast.quantity[row]))
        )
        stop_units = int(self._fast.stop[row])
        if not stop_units:
            return target, None
        profit_units = int(self._fast.take_profit[row])
        profit = fixed_to_decimal(profit_units) if profit_units else None
        return target, (fixed_to_decimal(stop_units), profit)

    # -- orders -----------------------------------------------------------------------------

    def _act_on_targets(
        self,
        targets: tuple[TargetPosition, ...],
        stops: Mapping[str, tuple[Decimal, Decimal | None]],
    ) -> None:
        """Turn targets into intents through the gateway (or into SHADOW intents)."""
        if self._shadow:
            self._desk.shadow(targets)
        elif self._disarmed is None:
            self._desk.act(targets, stops)

    def _desk_audit(self, topic: Topic, event_type: str, payload: dict[str, Any]) -> None:
        self._stream.add(self._now, topic, event_type, payload)

    def _on_refusal(self, intent: OrderIntent, result: SubmitResult) -> None:
        if result.decision.action in (Action.HALT_NEW, Action.FLATTEN_AND_HALT):
            self._record_decision(Topic.RISK, result.decision, intent.symbol)

    def _mark_price(self, index: int, units: int) -> None:
        self._last_close[index] = units
        self._prices[self._cols.symbols[index]] = units_to_decimal(units)

    def _flatten_if_requested(self) -> None:
        if not self._risk.flatten_requested:
            return
        positions = self._ledger.positions()
        targets = self._risk.flatten_targets(positions)
        if targets:
            self._act_on_targets(targets, {})

    # -- one step, bar by bar ---------------------------------------------------------------

    def _bar(self, row: int) -> Bar:
        cols = self._cols
        return Bar.model_construct(
            symbol=cols.symbols[int(cols.sym[row])],
            timeframe=self._timeframe,
            ts_close_utc=self._now,
            open=units_to_decimal(int(cols.open[row])),
            high=units_to_decimal(int(cols.high[row])),
            low=units_to_decimal(int(cols.low[row])),
            close=units_to_decimal(int(cols.close[row])),
            volume=units_to_decimal(int(cols.volume[row])),
            is_complete=bool(cols.complete[row]),
        )

    def _step(self, step: int) -> None:
        cols = self._cols
        lo, hi = int(cols.step_start[step]), int(cols.step_start[step + 1])
        self._now = utc(int(cols.ts[lo]))
        stale = self._gate.check_stale(self._now)
        if stale.action is not Action.ALLOW:
            self._record_decision(Topic.MARKET, stale, None)
        used: list[tuple[int, Bar]] = []
        for row in range(lo, hi):
            bar = self._bar(row)
            decision = self._gate.on_bar(bar, self._now)
            if decision.action is not Action.ALLOW or decision.reason_code != "OK":
                self._record_decision(Topic.MARKET, decision, bar.symbol)
            if decision.action is Action.REJECT:
                continue
            self._bar_of[bar.symbol] = bar
            self._broker.on_bar(bar)
            self._mark_price(int(cols.sym[row]), int(cols.close[row]))
            used.append((row, bar))
        if used:
            self._ledger.mark_all({bar.symbol: bar.close for _, bar in used})
        for decision in self._risk.on_mark(
            self._now,
            self._ledger.equity,
            session=self._session_date(step),
            data_ts=self._now,
        ):
            self._record_decision(Topic.RISK, decision, None)
        self._flatten_if_requested()
        if self._fast is not None:
            self._fast_signals(used)
        else:
            self._host_signals(used)
        self._record_equity(step)

    def _host_signals(self, used: list[tuple[int, Bar]]) -> None:
        cols = self._cols
        for row, bar in used:
            result = self._host.on_fixed_bar(
                bar.symbol,
                self._timeframe,
                int(cols.ts[row]),
                int(cols.open[row]),
                int(cols.high[row]),
                int(cols.low[row]),
                int(cols.close[row]),
                int(cols.volume[row]) / SCALE,
                is_complete=bool(cols.complete[row]),
            )
            for signal in result.signals:
                self._act_on_signal(signal)

    def _act_on_signal(self, signal: StrategySignal) -> None:
        stops = {s.symbol: (s.stop_price, s.take_profit) for s in signal.output.stops}
        self._act_on_targets(signal.output.targets, stops)

    def _fast_signals(self, used: list[tuple[int, Bar]]) -> None:
        if self._host.halted is not None:
            return
        for row, _ in used:
            signal = self._signal_targets(row)
            if signal is None:
                continue
            target, levels = signal
            self._act_on_targets((target,), {target.symbol: levels} if levels is not None else {})

    def _session_date(self, step: int) -> date:
        return date(1970, 1, 1) + timedelta(days=int(self._session_day[step]))

    def _record_equity(self, step: int) -> None:
        self._eq_cash[step] = decimal_to_units(self._ledger.cash, "cash")
        self._eq_equity[step] = decimal_to_units(self._ledger.equity, "equity")
        self._eq_exposed[step] = any(q != 0 for q in self._ledger.positions().values())

    # -- quiet stretches (fast mode) ----------------------------------------------------------

    def _quiet_end(self, step: int) -> int:
        """First step at or after ``step`` that must run in full (``step`` itself if any)."""
        fast = self._fast
        cols = self._cols
        if (
            fast is None
            or self._shadow
            or self._broker.has_resting
            or self._gateway.open_orders()
            or (self._risk.flatten_requested and any(self._ledger.positions().values()))
            or self._host.halted is not None
        ):
            return step
        positions = self._ledger.positions()
        held = np.array(
            [decimal_to_units(positions.get(s, _ZERO), "position") for s in cols.symbols],
            dtype=np.int64,
        )
        if np.any(held % SCALE):
            return step  # fractional positions: equity is marked bar by bar
        memo = self._desk.refused
        refused = np.array(
            [decimal_to_units(memo[s], "target") if s in memo else -1 for s in cols.symbols],
            dtype=np.int64,
        )
        has_refused = np.array([s in memo for s in cols.symbols], dtype=np.bool_)

        cash = decimal_to_units(self._ledger.cash, "cash")
        lo_row = int(cols.step_start[step])
        must = self._must_run
        m = int(np.searchsorted(must, step))
        if m < must.shape[0] and int(must[m]) == step:
            return step
        end = int(must[m]) if m < must.shape[0] else cols.steps
        # the first row at or after this step whose target is not what is held
        hi_row = int(cols.step_start[end])
        changes = fast.change_rows
        k = int(np.searchsorted(changes, lo_row))
        chunk = 64
        while k < changes.shape[0] and int(changes[k]) < hi_row:
            rows = changes[k : k + chunk]
            index = cols.sym[rows]
            wanted = fast.quantity[rows]
            # a symbol with a refused-target memo signals whenever the target moves off it
            # (that clears the memo); any other symbol whenever the target is not what is held
            mismatch = np.where(has_refused[index], wanted != refused[index], wanted != held[index])
            hit = np.flatnonzero(mismatch)
            if hit.size:
                end = min(end, int(cols.step_of_row[int(rows[int(hit[0])])]))
                break
            k += chunk
            chunk *= 2
        # a target already in force that is not what is held signals at the symbol's next bar
        for sym_index, active_rows in enumerate(self._active_rows):
            at = int(np.searchsorted(active_rows, lo_row))
            if at == 0 or at >= active_rows.shape[0]:
                continue
            in_force = int(fast.quantity[int(active_rows[at - 1])])
            if (
                in_force != int(refused[sym_index])
                if has_refused[sym_index]
                else in_force != int(held[sym_index])
            ):
                end = min(end, int(cols.step_of_row[int(active_rows[at])]))
        if end <= step:
            return step
        # risk: equity must stay strictly above the floor and at or below the peak
        equity, held_marks = self._stretch_equity(step, end, held, cash)
        peak = self._risk.peak_equity
        floor = self._risk.equity_floor
        bad = np.zeros(end - step, dtype=np.bool_)
        if peak is not None:
            bad |= equity > decimal_floor_units(peak)
        if floor is not None:
            bad |= equity < decimal_floor_units(floor) + 1
        first_bad = np.flatnonzero(bad)
        if first_bad.size:
            end = step + int(first_bad[0])
        if end <= step:
            return step
        self._advance(step, end, equity[: end - step], cash, held, held_marks)
        return end

    @cached_property
    def _active_rows(self) -> list[npt.NDArray[np.int64]]:
        """Per symbol, the rows with a vectorised target (the step engine's quiet check)."""
        if self._fast is None:
            return []
        active = self._fast.active
        return [
            np.flatnonzero((self._cols.sym == i) & active).astype(np.int64)
            for i in range(len(self._cols.symbols))
        ]

    @cached_property
    def _must_run(self) -> npt.NDArray[np.int64]:
        return self._steps_that_must_run()

    def _steps_that_must_run(self) -> npt.NDArray[np.int64]:
        """Steps a quiet stretch may never cover: integrity issues and flagged outliers, stale
        gaps, and the first and last step of every session (risk's day-start rollover)."""
        cols = self._cols
        n = cols.steps
        days = self._session_day
        first = np.r_[True, days[1:] != days[:-1]]
        last = np.r_[days[1:] != days[:-1], True]
        stale = np.r_[False, np.diff(self._eq_ts) > self._stale_after]
        flagged = np.zeros(n, dtype=np.bool_)
        assert self._scan is not None
        flagged[cols.step_of_row[self._scan.issue_rows]] = True
        flagged[cols.step_of_row[self._scan.outlier_rows]] = True
        return np.flatnonzero(first | last | stale | flagged).astype(np.int64)

    def _stretch_equity(
        self, step: int, end: int, held: npt.NDArray[np.int64], cash: int
    ) -> tuple[npt.NDArray[np.int64], dict[int, npt.NDArray[np.int64]]]:
        """Equity of each step of ``[step, end)`` and the held symbols' marks (1e-8 units)."""
        cols = self._cols
        equity = np.full(end - step, cash, dtype=np.int64)
        held_marks: dict[int, npt.NDArray[np.int64]] = {}
        lo_row, hi_row = int(cols.step_start[step]), int(cols.step_start[end])
        for index in np.flatnonzero(held).tolist():
            rows = lo_row + np.flatnonzero(cols.sym[lo_row:hi_row] == index)
            marks = np.full(end - step, self._last_close[index], dtype=np.int64)
            steps = cols.step_of_row[rows] - step
            marks[steps] = cols.close[rows]
            marks = _forward_fill(marks, steps, self._last_close[index])
            equity += held[index] // SCALE * marks
            held_marks[index] = marks
        return equity, held_marks

    def _advance(
        self,
        step: int,
        end: int,
        equity: npt.NDArray[np.int64],
        cash: int,
        held: npt.NDArray[np.int64],
        held_marks: dict[int, npt.NDArray[np.int64]],
    ) -> None:
        """Apply a proven-quiet stretch ``[step, end)`` in one go."""
        cols = self._cols
        lo_row, hi_row = int(cols.step_start[step]), int(cols.step_start[end])
        self._eq_equity[step:end] = equity
        self._eq_cash[step:end] = cash
        self._eq_exposed[step:end] = bool(np.any(held != 0))
        last_rows: dict[int, int] = {}
        sym = cols.sym[lo_row:hi_row]
        for index in np.unique(sym).tolist():
            last_rows[index] = lo_row + int(np.flatnonzero(sym == index)[-1])
        best = step + int(np.argmax(equity))
        self._now = utc(int(self._eq_ts[end - 1]))
        assert self._scan is not None
        self._gate.fast_forward(self._scan, lo_row, hi_row)  # every row proven ALLOW
        self._gate.on_tick(self._gate.feeds[0], self._now)
        for row in sorted(last_rows.values()):
            self._broker.on_bar(self._bar_at(row))
        for index, row in last_rows.items():
            self._mark_price(index, int(cols.close[row]))
        if held_marks:
            self._ledger.mark_all(
                {
                    cols.symbols[i]: units_to_decimal(int(m[best - step]))
                    for i, m in held_marks.items()
                }
            )
        marks_end = {cols.symbols[i]: units_to_decimal(c) for i, c in self._last_close.items()}
        self._ledger.mark_all(marks_end)

    def _bar_at(self, row: int) -> Bar:
        saved = self._now
        self._now = utc(int(self._cols.ts[row]))
        bar = self._bar(row)
        self._now = saved
        return bar

    # -- the run ---------------------------------------------------------------------------------

    def run(self) -> BacktestResult:
        cols = self._cols
        settings = self._request.config.settings
        self._stream.add(
            self._now,
            Topic.RUNTIME,
            "BACKTEST_STARTED",
            {
                "config_hash": self._request.config.config_hash,
                "env": self._request.config.env,
                "stress": list(self._request.config.stress),
                "data_hash": self._request.data_hash,
                "seed": self._request.seed,
                "bars": int(cols.ts.shape[0]),
                "steps": cols.steps,
                "symbols": list(cols.symbols),
                "timeframe": self._timeframe.value,
                "strategies": [s.model_dump() for s in settings.engine.strategies],
                "shadow": self._shadow,
            },
        )
        orders: Sequence[Order] = (
            self._run_columnar() if self._columnar_problem is None else self._run_steps()
        )
        n = cols.steps
        if self._progress is not None:
            self._progress(n, n)
        final_equity = self._ledger.equity
        self._stream.add(
            self._now,
            Topic.RUNTIME,
            "BACKTEST_FINISHED",
            {
                "final_cash": format_decimal(self._ledger.cash),
                "final_equity": format_decimal(final_equity),
                "orders": len(orders),
                "fills": len(self._ledger.fills),
                "halted": self._halted,
                "disarmed": self._disarmed,
                "equity_curve_sha256": _curve_digest(self._eq_ts, self._eq_cash, self._eq_equity),
            },
        )
        return BacktestResult(
            request=self._request,
            events=self._stream.records,
            orders=orders,
            fills=self._ledger.fills,
            trades=tuple(self._fills.trades.closed),
            equity=EquityCurve(self._eq_ts, self._eq_cash, self._eq_equity, self._eq_exposed),
            final_cash=self._ledger.cash,
            final_equity=final_equity,
            costs_paid=self._fills.costs,
            ambiguous_bars=self._broker.ambiguous_bars,
            halted=self._halted,
            disarmed=self._disarmed,
            mode=self._mode if self._fast is not None or self._mode == "reference" else "reference",
            columnar=self._columnar_problem is None,
            columnar_note=self._columnar_problem,
            audit_log=self._stream.close_spool(),
        )

    def _run_columnar(self) -> Sequence[Order]:
        """The whole run through the columnar kernel (raises OutsideEnvelope to fall back)."""
        assert self._fast is not None
        # the scan proved every bar clean and the kernel never reads it (a fallback starts a
        # new simulation): its per-row arrays go before the walk
        self._scan = None
        return_free_memory()  # the scan's and the setup's freed arrays, before the walk grows
        settings = self._request.config.settings
        kernel = ColumnarKernel(
            cols=self._cols,
            targets=self._fast,
            session_day=self._session_day,
            settings=ExecutionSettings.model_validate(settings.execution.model_dump()),
            engine_id=self._engine_id,
            run_id=self._run_id,
            starting_cash=self._starting_cash,
            ledger=self._ledger,
            risk=self._risk,
            fills=self._fills,
            stream=self._stream,
            arm=self._authority.verifier,
            arm_token=self._arm_token,
            integrity=GateView(self._gate.status),  # = self.integrity_decision
            risk_check=self._risk_check,
            allocation=self._allocation_check,
            record=self._kernel_decision,
            progress=self._progress,
        )
        done = kernel.run()
        self._eq_cash = done.cash_units
        self._eq_equity = done.equity_units
        self._eq_exposed = done.exposed
        self._now = utc(int(self._eq_ts[-1]))
        return done.orders

    def _kernel_decision(
        self, now: datetime, topic: Topic, decision: Decision, symbol: str | None
    ) -> None:
        self._now = now
        self._record_decision(topic, decision, symbol)

    def _run_steps(self) -> tuple[Order, ...]:
        """The whole run step by step (fast mode skips proven-quiet stretches)."""
        n = self._cols.steps
        step = 0
        report_every = max(n // 200, 1)
        next_report = 0
        while step < n:
            if self._mode == "fast" and self._disarmed is None:
                end = self._quiet_end(step)
                if end > step:
                    step = end
                    continue
            self._step(step)
            step += 1
            if self._progress is not None and step >= next_report:
                self._progress(step, n)
                next_report = step + report_every
        return self._gateway.orders()


def _refuse_bars_of_another_timeframe(scan: FrameScan) -> None:
    """Refuse a file most of whose bars do not close on a bar close of the run's timeframe
    and calendar: it holds bars of another timeframe (say 1m bars run as 1d), and the gate
    would reject nearly every bar one by one and trade on the few that happen to fit. A few
    such bars in a file of the right timeframe are left to the gate, as in a live run."""
    off = scan.off_calendar_rows
    total = len(scan.frame)
    if off.size * 2 <= total:
        return
    settings, timeframe = scan.settings, scan.frame.timeframe
    first = scan.decision_at(int(off[0]))
    raise BacktestInputError(
        f"{off.size:,} of {total:,} bars ({off.size / total:.1%}) do not close on a {timeframe}"
        f" bar close of {settings.calendar}, so the file does not hold {timeframe}"
        f" {settings.calendar} bars (first: {first.message}); check --timeframe and --calendar"
        " (mqk-cli data validate lists every issue)"
    )


def _forward_fill(
    marks: npt.NDArray[np.int64], filled_at: npt.NDArray[np.integer[Any]], first: int
) -> npt.NDArray[np.int64]:
    """Carry each symbol's last close forward over steps where it had no bar."""
    has = np.zeros(marks.shape[0], dtype=np.bool_)
    has[filled_at] = True
    index = np.where(has, np.arange(marks.shape[0]), -1)
    index = np.maximum.accumulate(index)
    out = np.where(index >= 0, marks[np.maximum(index, 0)], first)
    return out.astype(np.int64)


def _curve_digest(
    ts: npt.NDArray[np.int64], cash: npt.NDArray[np.int64], equity: npt.NDArray[np.int64]
) -> str:
    import hashlib

    digest = hashlib.sha256()
    for column in (ts, cash, equity):
        digest.update(np.ascontiguousarray(column, dtype="<i8").data)
    return digest.hexdigest()


def run_simulation(
    request: BacktestRequest,
    *,
    registry: StrategyRegistry,
    mode: str = "fast",
    progress: Callable[[int, int], None] | None = None,
    spool_dir: Path | None = None,
) -> BacktestResult:
    """Run ``request``; ``mode`` is ``"fast"`` (default) or ``"reference"`` (bar by bar).
    With ``spool_dir`` a helper process chains the audit log there during the run."""
    if mode not in ("fast", "reference"):
        raise BacktestInputError(f"mode must be 'fast' or 'reference', not {mode!r}")
    with _cyclic_gc_paused():
        try:
            return _run_once(request, registry, mode, progress, spool_dir, columnar=mode == "fast")
        except OutsideEnvelope as exc:  # redo it step by step: it left the kernel's envelope
            return _run_once(
                request, registry, mode, progress, spool_dir, columnar=False, fallback=exc.reason
            )


def _run_once(
    request: BacktestRequest,
    registry: StrategyRegistry,
    mode: str,
    progress: Callable[[int, int], None] | None,
    spool_dir: Path | None,
    *,
    columnar: bool,
    fallback: str | None = None,
) -> BacktestResult:
    """One simulation of ``request``, its components released as soon as it ends."""
    simulation = _Simulation(
        request, registry, mode, progress, columnar=columnar, fallback=fallback
    )
    try:
        if spool_dir is not None:  # inside: a failing run stops its helper (release)
            simulation.spool_audit_log(spool_dir)
        return simulation.run()
    finally:
        simulation.release()
        return_free_memory()


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for the run (reference counting still frees
    everything the run drops). A run allocates millions of short-lived objects while its
    event stream grows; the collector would rescan that growing heap over and over (about a
    fifth of a long run's time) for the one web of cycles a run makes, which
    :meth:`_Simulation.release` cuts instead."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        # what the run leaves (its result: events, fills, trades) goes straight to the
        # oldest generation: with the collector paused it all sits in the youngest one, and
        # the first young collection would traverse every object of it (~0.07 s for one
        # symbol's million bars, ~0.15 s for ten symbols) only to find it alive. The host's
        # own young objects go along (a full collection still sees them); a host that froze
        # objects itself keeps them frozen: then nothing is moved
        if gc.get_freeze_count() == 0:
            gc.freeze()
            gc.unfreeze()
        if was_enabled:
            gc.enable()
