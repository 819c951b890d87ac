"""The runtime loop of a PAPER or LIVE run.

One cycle per bar, in this order::

    clock.wait_until(bar close)        replay: jump there; live: sleep until then
    integrity gate                      stale feed -> DISARM; gap -> HALT_NEW; bad bar dropped
    broker.on_bar (simulated brokers)   fills -> inbox (applied once) -> ledger, risk (PDT)
    ledger mark, risk per-bar check     daily loss / drawdown -> FLATTEN_AND_HALT, stale data
    strategy host                       targets -> intents -> gateway -> outbox -> broker
    reconcile tick (every N bars)       WARN -> HALT_NEW, CRITICAL -> DISARM
    heartbeat, cycle commit             cursor + risk state + OMS view in one transaction

Every kill switch is recorded in the audit log and on the run (mqk-db ``halt_run``: HALTED with
the reason, engine disarmed) and revokes the in-process arm token; a FLATTEN_AND_HALT first
sends the flattening orders. A halted run keeps observing its feed (fills of orders already at
the broker still arrive and are applied) but sends nothing. Restart and recovery are in
:class:`~mqk_runtime.Runtime.resume`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine

from mqk_config import EffectiveConfig
from mqk_db import PreflightFailed as DbPreflightFailed
from mqk_db import (
    RunRecord,
    arm_run,
    begin_run,
    get_run,
    halt_run,
    heartbeat_run,
    stop_run,
)
from mqk_execution import (
    AllocationGuardCheck,
    ArmAuthority,
    ArmToken,
    BrokerAdapter,
    ExecutionEvent,
    ExecutionGateway,
    OrderDesk,
    RiskEngineCheck,
)
from mqk_integrity import IntegrityGate, LookaheadError, SessionGrid
from mqk_portfolio import EngineLedger
from mqk_risk import RiskEngine
from mqk_runtime._clock import RuntimeClock
from mqk_runtime._components import EngineComponents, session_of
from mqk_runtime._decisions import begin_refused, halt_reason
from mqk_runtime._durable import DurableBroker
from mqk_runtime._failpoints import Failpoints
from mqk_runtime._feed import BarFeed, steps, steps_before
from mqk_runtime._internal import internal_state_from_parts, oms_json
from mqk_runtime._recon import ReconcileTick, reconcile_and_record
from mqk_runtime._store import RunStore
from mqk_runtime._summary import RunSummary
from mqk_runtime._views import GateView, MarketDriven
from mqk_runtime.errors import LifecycleOrderError
from mqk_schemas import (
    Action,
    Bar,
    Decision,
    Fill,
    RunStatus,
    Topic,
    canonical_json,
)
from mqk_strategy import StrategyRegistry, StrategySignal

__all__ = ["BrokerFactory", "ProgressCallback", "RuntimeCore", "new_risk_engine"]

BrokerFactory = Callable[[RunRecord], BrokerAdapter]
"""Builds the run's broker adapter once the run exists (a paper broker is per run)."""

ProgressCallback = Callable[[int, int], None]
"""Called after every cycle with (bars done, bars total)."""

_STICKY = frozenset({Action.HALT_NEW, Action.FLATTEN_AND_HALT, Action.DISARM})
_ACTIVE = frozenset({RunStatus.ARMED, RunStatus.RUNNING})


class RuntimeCore:
    """The loop and its state; :class:`~mqk_runtime.Runtime` adds creation and recovery."""

    def __init__(
        self,
        *,
        db: Engine,
        run: RunRecord,
        config: EffectiveConfig,
        components: EngineComponents,
        feed: BarFeed,
        clock: RuntimeClock,
        broker: BrokerAdapter,
        store: RunStore,
        registry: StrategyRegistry,
        failpoints: Failpoints,
        ledger: EngineLedger,
        risk: RiskEngine,
        gate: IntegrityGate,
        start_index: int,
        resumed: bool,
    ) -> None:
        self._db = db
        self._run = run
        self._config = config
        self._c = components
        self._feed = feed
        self._clock = clock
        self._store = store
        self._failpoints = failpoints
        self._ledger = ledger
        self._risk = risk
        self._gate = gate
        self._host = components.strategy_host(registry)
        self._market = broker if isinstance(broker, MarketDriven) else None
        self._authority = ArmAuthority(run.run_id, run.engine_id)
        self._token: ArmToken | None = None
        self._start = start_index
        self._cursor = start_index
        self._resumed = resumed
        self._last_close: dict[str, Decimal] = {}
        self._data_ts: datetime | None = None
        self._alerts: list[tuple[Decision, str]] = []
        self._trips: list[Decision] = []
        self._halted: Decision | None = None
        self._quiet = resumed
        self._recovering = resumed
        self._bars_session = 0
        self._steps_done = steps_before(feed, start_index)
        self._durable = DurableBroker(
            broker,
            store,
            clock=clock.now,
            on_fill=self._on_fill,
            on_conflict=lambda d: self._alert(d, "BROKER"),
            failpoints=failpoints,
        )
        self._gateway = self._build_gateway()
        saved = store.load_state()
        desk = (saved.oms or {}) if saved is not None else {}
        self._desk = OrderDesk(
            gateway=self._gateway,
            ledger=ledger,
            engine_id=run.engine_id,
            run_id=run.run_id,
            next_seq=max(store.next_intent_seq(), int(desk.get("next_seq", 0))),
            prices=self._last_close,
            audit=self._audit,
            refused={s: Decimal(str(q)) for s, q in desk.get("refused", {}).items()},
        )
        self._quiet = False

    # -- read-only ---------------------------------------------------------------------------

    @property
    def run_id(self) -> uuid.UUID:
        """The run."""
        return self._run.run_id

    @property
    def run(self) -> RunRecord:
        """The run as stored now."""
        return get_run(self._db, self._run.run_id)

    @property
    def ledger(self) -> EngineLedger:
        """The fill-driven ledger (the replay of the run's applied fills)."""
        return self._ledger

    @property
    def gateway(self) -> ExecutionGateway:
        """The execution gateway (the only path to the broker)."""
        return self._gateway

    @property
    def halted(self) -> Decision | None:
        """The kill switch that halted the run in this session, if any."""
        return self._halted

    @property
    def armed(self) -> bool:
        """True while this process holds a live arm token."""
        return self._token is not None and self._authority.armed

    @property
    def cursor(self) -> int:
        """Bars completed (the index of the next bar)."""
        return self._cursor

    # -- lifecycle ---------------------------------------------------------------------------

    def _arm_fresh(self, confirmation: str | None) -> None:
        now = self._clock.now()
        self._reconcile_tick(now, purpose="PRE_ARM", trip=False)
        arm_run(self._db, self.run_id, self._c.arming, confirmation=confirmation, now=now)
        self._set_token(self._authority.arm())

    def _begin_fresh(self) -> None:
        now = self._clock.now()
        self._reconcile_tick(now, purpose="PRE_BEGIN", trip=False)
        try:
            begin_run(
                self._db, self.run_id, reconcile_freshness=self._c.reconcile_freshness, now=now
            )
        except DbPreflightFailed as exc:
            self._trip(begin_refused(exc), "LIFECYCLE")
            raise

    def run_feed(self, progress: ProgressCallback | None = None) -> RunSummary:
        """Run every remaining bar of the feed; returns the session summary."""
        status = self.run.status
        if status is not RunStatus.RUNNING and self._halted is None:
            raise LifecycleOrderError(
                f"run {self.run_id} is {status}; begin it before running the feed",
                {"run_id": str(self.run_id), "status": status.value},
            )
        total = len(self._feed)
        for step in steps(self._feed, self._cursor):
            self._cycle(step)
            if progress is not None:
                progress(self._cursor, total)
        return self.summary()

    def stop(self) -> RunRecord:
        """RUNNING or HALTED -> STOPPED; the arm token is revoked."""
        self._authority.disarm()
        self._set_token(None)
        return stop_run(self._db, self.run_id, now=self._clock.now())

    def summary(self) -> RunSummary:
        """Counts and balances of the run, as stored now."""
        run = self.run
        state = self._store.load_state()
        return RunSummary(
            run_id=run.run_id,
            engine_id=run.engine_id,
            mode=run.mode,
            shadow=run.shadow,
            status=run.status,
            resumed=self._resumed,
            bars_total=len(self._feed),
            bars_done=state.bars_done if state is not None else 0,
            bars_this_session=self._bars_session,
            orders=len(self._store.outbox()),
            fills=len(self._store.fills(applied=True)),
            shadow_intents=self._desk.shadow_intents,
            cash=self._ledger.cash,
            equity=self._ledger.equity,
            positions=self._ledger.positions(),
            halt_reason=run.halt_reason,
            halts=tuple(self._trips),
        )

    # -- the cycle ---------------------------------------------------------------------------

    def _cycle(self, step: list[tuple[int, Bar]]) -> None:
        """One step: every bar closing at the same instant (one per symbol)."""
        self._clock.wait_until(step[0][1].ts_close_utc)
        now = self._clock.now()
        stale = self._gate.check_stale(now)
        if stale.action is Action.DISARM:
            self._trip(stale, "INTEGRITY")
        used: list[Bar] = []
        for _index, bar in step:
            try:
                verdict = self._gate.on_bar(bar, now)
            except LookaheadError as exc:
                self._trip(exc.decision, "INTEGRITY")
                continue
            if verdict.action in _STICKY:
                self._trip(verdict, "INTEGRITY")
            if verdict.action is Action.REJECT:
                self._audit(
                    Topic.MARKET, "BAR_REJECTED", {"decision": verdict.model_dump(mode="json")}
                )
                continue
            self._last_close[bar.symbol] = bar.close
            self._data_ts = bar.ts_close_utc
            if self._market is not None:
                self._market.on_bar(bar)
            used.append(bar)
        self._handle_alerts()
        if used:
            self._ledger.mark_all({bar.symbol: bar.close for bar in used})
        report = self._risk.evaluate(self._ledger, now, data_ts=self._data_ts)
        for decision in report.decisions:
            self._trip(decision, "RISK")
        for bar in used:
            result = self._host.on_bar(bar)
            if result.decision.reason_code == "STRATEGY_ERROR":
                self._trip(result.decision, "STRATEGY")
            if self._halted is None:
                for signal in result.signals:
                    self._act_on_signal(signal)
        self._handle_alerts()
        self._steps_done += 1
        if self._steps_done % self._c.interval_bars == 0:
            self._reconcile_tick(now, purpose="TICK", trip=True)
        if self._halted is None:
            heartbeat_run(self._db, self.run_id, now=now)
        self._finish_cycle(step[-1][0] + 1, len(step), now)

    def _finish_cycle(self, bars_done: int, bars: int, now: datetime) -> None:
        self._failpoints.hit("before_cycle_commit")
        state = oms_json(self._gateway.orders(), self._protective_ids())
        state["refused"] = self._desk.refused
        state["next_seq"] = self._desk.next_seq
        self._store.save_cycle(
            bars_done=bars_done,
            risk_state_json=self._risk.snapshot().model_dump_json(),
            oms_json=canonical_json(state),
            now=now,
        )
        self._failpoints.hit("after_cycle_commit")
        self._cursor = bars_done
        self._bars_session += bars

    def _act_on_signal(self, signal: StrategySignal) -> None:
        if signal.shadow:
            self._desk.shadow(signal.output.targets)
            return
        if self._token is None:
            return
        stops = {s.symbol: (s.stop_price, s.take_profit) for s in signal.output.stops}
        self._desk.act(signal.output.targets, stops)

    def _set_token(self, token: ArmToken | None) -> None:
        self._token = token
        self._desk.token = token

    # -- reconcile ---------------------------------------------------------------------------

    def _reconcile_tick(self, now: datetime, *, purpose: str, trip: bool) -> ReconcileTick:
        internal = internal_state_from_parts(
            self._gateway.orders(), self._protective_ids(), self._ledger.fills
        )
        tick = reconcile_and_record(
            self._db,
            engine_id=self._run.engine_id,
            run_id=self.run_id,
            snapshot=self._gateway.broker_snapshot(),
            internal=internal,
            config=self._c.reconcile,
            now=now,
        )
        if tick.refused is not None:
            self._audit(
                Topic.RECON,
                "RECON_CHECKPOINT_REFUSED",
                {"purpose": purpose, "reason": tick.refused.message},
            )
        if not tick.result.clean:
            self._audit(Topic.RECON, "RECON_RESULT", {"purpose": purpose, **tick.result.summary()})
            if trip:
                self._trip(tick.result.decision, "RECONCILE")
        return tick

    def _protective_ids(self) -> set[str]:
        return {
            o.client_order_id
            for o in self._gateway.orders()
            if self._gateway.is_protective(o.client_order_id)
        }

    # -- kill switches -----------------------------------------------------------------------

    def _alert(self, decision: Decision, source: str) -> None:
        self._alerts.append((decision, source))

    def _handle_alerts(self) -> None:
        while self._alerts:
            decision, source = self._alerts.pop(0)
            self._trip(decision, source)

    def _trip(self, decision: Decision, source: str) -> None:
        if decision.action not in _STICKY:
            return
        if self._halted is not None and decision.reason_code in {
            d.reason_code for d in self._trips
        }:
            return
        self._audit(
            Topic.RISK if source == "RISK" else Topic.RUNTIME,
            "KILL_SWITCH",
            {"source": source, "decision": decision.model_dump(mode="json")},
        )
        self._trips.append(decision)
        if self._halted is not None:
            return
        if decision.action is Action.FLATTEN_AND_HALT:
            self._flatten()
        self._halted = decision
        self._authority.disarm()
        self._set_token(None)
        run = self.run
        if run.status in _ACTIVE:
            halt_run(self._db, self.run_id, halt_reason(decision), now=self._clock.now())

    def _flatten(self) -> None:
        targets = self._risk.flatten_targets(self._ledger.positions())
        if targets and self._token is not None:
            self._desk.act(targets, {})

    # -- callbacks ---------------------------------------------------------------------------

    def _build_gateway(self) -> ExecutionGateway:
        return ExecutionGateway(
            engine_id=self._run.engine_id,
            run_id=self.run_id,
            broker=self._durable,
            arm_verifier=self._authority.verifier,
            integrity=GateView(self._gate),
            risk=RiskEngineCheck(self._risk, self._ledger),
            allocation=AllocationGuardCheck(
                self._c.allocation, self._ledger, lambda: self._ledger.equity
            ),
            positions=self._ledger,
            clock=self._clock.now,
            event_sink=self._on_event,
        )

    def _on_event(self, event: ExecutionEvent) -> None:
        if self._quiet:
            return
        payload: dict[str, Any] = {"client_order_id": event.client_order_id, **event.payload}
        self._audit(event.topic, event.event_type, payload)
        if event.event_type == "ORDER_REJECTED":
            reason = event.payload.get("reason")
            for decision in self._risk.on_reject(
                self._clock.now(),
                client_order_id=event.client_order_id,
                reason_code=reason if isinstance(reason, str) else None,
            ):
                self._alert(decision, "RISK")

    def _on_fill(self, fill: Fill) -> None:
        before = self._ledger.position(fill.symbol)
        result = self._ledger.apply(fill)
        self._risk.on_fill(fill, position_before=before)
        self._audit(
            Topic.LEDGER,
            "FILL_RECOVERED" if self._recovering else "FILL_APPLIED",
            {
                "fill": fill.model_dump(mode="json"),
                "realised_pnl": result.realised_pnl,
                "position": result.position,
            },
        )

    def _audit(self, topic: Topic, event_type: str, payload: dict[str, Any]) -> None:
        self._store.audit(topic, event_type, payload, now=self._clock.now())


def new_risk_engine(components: EngineComponents, grid: SessionGrid) -> RiskEngine:
    """A fresh risk engine for a run starting with the configured cash."""
    return RiskEngine(
        components.risk_limits,
        engine_id=components.engine_id,
        session_of=session_of(grid),
        initial_equity=components.starting_cash,
    )
