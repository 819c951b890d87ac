"""Runtime: create or resume a run, arm it, begin it, run the feed, stop it.

Fresh run: ``create`` (CREATED, cursor 0) -> ``arm`` (reconcile, then mqk-db ``arm_run``: LIVE
needs a fresh CLEAN reconcile and the typed phrase) -> ``begin`` (reconcile again, mqk-db
``begin_run`` re-checks it) -> ``run_feed`` -> ``stop``.

Restart (``resume``): the run comes back **disarmed** (the engine's arm switch is set to
DISARMED first). The state is rebuilt from what was committed: the integrity gate, strategy
window and ledger are replayed over the bars of the completed cycles (the ledger from the
applied fills only), the risk engine resumes from its saved state, the broker replays its
journal and re-delivers its update stream (the inbox drops fills already applied and applies
any lost in the crash). Then every open outbox entry (PENDING, SENT) is resolved against the
broker snapshot: found -> ACKED (FAILED if the broker rejected it); absent -> resubmitted with
the same client_order_id once re-armed (or, with ``resubmit_missing=False``, marked AMBIGUOUS
and the run halted). Recovery ends with a reconcile that must be CLEAN, else the run is halted;
only then can ``arm`` re-arm it (same preflight as arming) and trading continue from the bar
whose cycle was interrupted.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Engine

from mqk_config import EffectiveConfig
from mqk_db import (
    OutboxEntry,
    RunRecord,
    RunSpec,
    begin_run,
    create_run,
    disarm_engine,
    get_run,
    latest_reconcile,
)
from mqk_db import PreflightFailed as DbPreflightFailed
from mqk_integrity import IntegrityGate, SessionGrid
from mqk_portfolio import EngineLedger
from mqk_risk import RiskEngine, RiskState
from mqk_runtime._clock import RuntimeClock
from mqk_runtime._components import EngineComponents, session_of
from mqk_runtime._decisions import begin_refused
from mqk_runtime._failpoints import Failpoints
from mqk_runtime._feed import BarFeed
from mqk_runtime._rearm import rearm_run
from mqk_runtime._rebuild import bracket_of, rebuild_ledger, warm_gate
from mqk_runtime._runtime import BrokerFactory, RuntimeCore, new_risk_engine
from mqk_runtime._store import OPEN_OUTBOX_STATUSES, CycleState, RunStore, outbox_intent
from mqk_runtime.errors import BarsMismatchError, ResumeRefusedError, RuntimeInputError
from mqk_schemas import Action, Bar, Decision, OrderStatus, RunMode, RunStatus, Topic
from mqk_strategy import StrategyRegistry

__all__ = ["Runtime"]


class Runtime(RuntimeCore):
    """One run of one engine, PAPER or LIVE (see the module docstring for the sequence)."""

    _fresh: bool = True
    _resubmit_missing: bool = True
    _to_resubmit: list[OutboxEntry]

    # -- construction ------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        db: Engine,
        config: EffectiveConfig,
        feed: BarFeed,
        *,
        mode: RunMode,
        clock: RuntimeClock,
        broker_factory: BrokerFactory,
        registry: StrategyRegistry | None = None,
        failpoints: Failpoints | None = None,
        git_revision: str = "unknown",
        host_fingerprint: str = "unknown",
        created_at: datetime | None = None,
    ) -> Runtime:
        """Create a run (CREATED) pinned to ``config`` and ready to arm.

        ``created_at`` is when the operator created the run (default: the run clock). A replayed
        feed's clock starts at its first bar, so callers replaying history pass the wall-clock
        time here: runs are ordered by it (the engine's latest run is what reconcile checks).
        """
        if mode is RunMode.BACKTEST:
            raise RuntimeInputError("the runtime runs PAPER and LIVE runs; use mqk-backtest")
        components = _components(config, feed)
        spec = RunSpec(
            engine_id=config.engine_id,
            mode=mode,
            config_hash=config.config_hash,
            config_json=config.canonical_json,
            git_revision=git_revision,
            host_fingerprint=host_fingerprint,
            shadow=components.shadow,
        )
        now = clock.now()
        run = create_run(db, spec, now=created_at if created_at is not None else now)
        store = RunStore(db, run.run_id, run.engine_id)
        store.init_state(feed_digest=feed.digest, bars_total=len(feed), now=now)
        return cls._fresh_runtime(
            db,
            run,
            config,
            components,
            feed,
            clock,
            broker_factory,
            store,
            registry,
            failpoints,
            resumed=False,
        )

    @classmethod
    def resume(
        cls,
        db: Engine,
        config: EffectiveConfig,
        run_id: uuid.UUID,
        feed: BarFeed,
        *,
        clock: RuntimeClock,
        broker_factory: BrokerFactory,
        registry: StrategyRegistry | None = None,
        failpoints: Failpoints | None = None,
        resubmit_missing: bool = True,
    ) -> Runtime:
        """Restart run ``run_id`` after a crash: disarmed, rebuilt, recovered (module doc)."""
        run = get_run(db, run_id)
        _check_resumable(run, config)
        components = _components(config, feed)
        store = RunStore(db, run.run_id, run.engine_id)
        state = store.load_state()
        if state is None:
            state = store.init_state(feed_digest=feed.digest, bars_total=len(feed), now=clock.now())
        elif state.feed_digest != feed.digest or state.bars_total != len(feed):
            raise BarsMismatchError(
                f"run {run_id} started on bars with digest {state.feed_digest} "
                f"({state.bars_total} bars); these bars have digest {feed.digest} "
                f"({len(feed)} bars)",
                {"run_id": str(run_id), "expected": state.feed_digest, "given": feed.digest},
            )
        if run.status is RunStatus.CREATED:
            return cls._fresh_runtime(
                db,
                run,
                config,
                components,
                feed,
                clock,
                broker_factory,
                store,
                registry,
                failpoints,
                resumed=True,
            )
        return cls._recovered_runtime(
            db,
            run,
            config,
            components,
            feed,
            clock,
            broker_factory,
            store,
            state,
            registry,
            failpoints,
            resubmit_missing,
        )

    @classmethod
    def _fresh_runtime(
        cls,
        db: Engine,
        run: RunRecord,
        config: EffectiveConfig,
        components: EngineComponents,
        feed: BarFeed,
        clock: RuntimeClock,
        broker_factory: BrokerFactory,
        store: RunStore,
        registry: StrategyRegistry | None,
        failpoints: Failpoints | None,
        *,
        resumed: bool,
    ) -> Runtime:
        grid = SessionGrid(components.integrity.calendar, components.timeframe)
        runtime = cls(
            db=db,
            run=run,
            config=config,
            components=components,
            feed=feed,
            clock=clock,
            broker=broker_factory(run),
            store=store,
            registry=registry or StrategyRegistry.discover(),
            failpoints=failpoints or Failpoints.disabled(),
            ledger=EngineLedger(components.engine_id, components.starting_cash),
            risk=new_risk_engine(components, grid),
            gate=IntegrityGate(
                components.integrity, components.timeframe, started_at=clock.now(), grid=grid
            ),
            start_index=0,
            resumed=resumed,
        )
        runtime._fresh = True
        runtime._to_resubmit = []
        return runtime

    @classmethod
    def _recovered_runtime(
        cls,
        db: Engine,
        run: RunRecord,
        config: EffectiveConfig,
        components: EngineComponents,
        feed: BarFeed,
        clock: RuntimeClock,
        broker_factory: BrokerFactory,
        store: RunStore,
        state: CycleState,
        registry: StrategyRegistry | None,
        failpoints: Failpoints | None,
        resubmit_missing: bool,
    ) -> Runtime:
        done = list(feed.bars_from(0))[: state.bars_done]
        latest = latest_reconcile(db, run.engine_id)
        for ts in [b.ts_close_utc for b in done[-1:]] + (
            [latest.captured_at] if latest is not None else []
        ):
            clock.wait_until(ts)
        now = clock.now()
        disarm_engine(
            db,
            run.engine_id,
            f"restart of run {run.run_id}: disarmed until recovery ends with a clean reconcile",
            now=now,
        )
        store.audit(
            Topic.RUNTIME,
            "RUN_RESTARTED",
            {"status": run.status.value, "bars_done": state.bars_done},
            now=now,
        )
        grid = SessionGrid(components.integrity.calendar, components.timeframe)
        first = done[0].ts_close_utc if done else now
        gate = IntegrityGate(
            components.integrity, components.timeframe, started_at=first, grid=grid
        )
        accepted = warm_gate(gate, done)
        ledger, tail = rebuild_ledger(components, accepted, store.fills(applied=True))
        risk = (
            RiskEngine.from_state(
                components.risk_limits,
                RiskState.model_validate_json(state.risk_state_json),
                session_of=session_of(grid),
            )
            if state.risk_state_json is not None
            else new_risk_engine(components, grid)
        )
        for fill, before in tail:
            risk.on_fill(fill, position_before=before)
        runtime = cls(
            db=db,
            run=run,
            config=config,
            components=components,
            feed=feed,
            clock=clock,
            broker=broker_factory(run),
            store=store,
            registry=registry or StrategyRegistry.discover(),
            failpoints=failpoints or Failpoints.disabled(),
            ledger=ledger,
            risk=risk,
            gate=gate,
            start_index=state.bars_done,
            resumed=True,
        )
        runtime._fresh = False
        runtime._resubmit_missing = resubmit_missing
        runtime._to_resubmit = []
        runtime._warm_strategy(accepted)
        runtime._recover()
        return runtime

    # -- lifecycle ---------------------------------------------------------------------------

    def arm(self, confirmation: str | None = None) -> None:
        """Arm (fresh run) or re-arm after recovery; LIVE needs the typed ``confirmation``.

        Raises :class:`mqk_db.PreflightFailed` with every failed check.
        """
        if self._halted is not None:
            raise ResumeRefusedError(
                f"run {self.run_id} was halted ({self._halted.reason_code}); it cannot be armed",
                {"reason_code": self._halted.reason_code},
            )
        if self._fresh:
            self._arm_fresh(confirmation)
            return
        rearm_run(
            self._db, self.run_id, self._c.arming, confirmation=confirmation, now=self._clock.now()
        )
        self._set_token(self._authority.arm())
        self._resubmit()

    def begin(self) -> None:
        """ARMED -> RUNNING (LIVE re-checks the reconcile); a resumed RUNNING run continues.

        A refused start halts the run (reason ``BEGIN_REFUSED``) and re-raises
        :class:`mqk_db.PreflightFailed`.
        """
        if self._fresh:
            self._begin_fresh()
            return
        if self.run.status is RunStatus.ARMED:
            try:
                begin_run(
                    self._db,
                    self.run_id,
                    reconcile_freshness=self._c.reconcile_freshness,
                    now=self._clock.now(),
                )
            except DbPreflightFailed as exc:
                self._trip(begin_refused(exc), "LIFECYCLE")
                raise

    # -- recovery ----------------------------------------------------------------------------

    def _warm_strategy(self, bars: Sequence[Bar]) -> None:
        for bar in bars:
            self._last_close[bar.symbol] = bar.close
            self._host.on_bar(bar)

    def _recover(self) -> None:
        now = self._clock.now()
        for fill in self._store.fills(applied=False):
            self._durable.ingest(fill)
        at_broker = {o.client_order_id: o for o in self._gateway.broker_snapshot().orders}
        resolved: dict[str, str] = {}
        for entry in self._store.outbox(OPEN_OUTBOX_STATUSES):
            key = entry.idempotency_key
            order = at_broker.get(key)
            status = entry.status
            if status == "PENDING" and (order is not None or not self._resubmit_missing):
                self._store.set_status(key, "SENT", now=now)
            if order is not None:
                final = "FAILED" if order.status is OrderStatus.REJECTED else "ACKED"
                self._store.set_status(
                    key,
                    final,
                    now=now,
                    broker_order_id=order.broker_order_id,
                    error="rejected by the broker" if final == "FAILED" else None,
                )
                resolved[key] = final
            elif self._resubmit_missing:
                self._to_resubmit.append(entry)
                resolved[key] = "RESUBMIT"
            else:
                if status != "AMBIGUOUS":
                    self._store.set_status(
                        key, "AMBIGUOUS", now=now, error="absent at the broker after a restart"
                    )
                resolved[key] = "AMBIGUOUS"
                self._alert(
                    Decision(
                        action=Action.DISARM,
                        reason_code="OUTBOX_AMBIGUOUS",
                        message=f"order {key} was sent before the restart but the broker does "
                        "not have it; it is not resubmitted",
                        evidence={"client_order_id": key, "outbox_status": status},
                    ),
                    "RECOVERY",
                )
        self._recovering = False
        self._audit(Topic.RUNTIME, "OUTBOX_RESOLVED", {"entries": resolved})
        self._handle_alerts()
        if self._halted is None:
            tick = self._reconcile_tick(now, purpose="RECOVERY", trip=True)
            self._audit(
                Topic.RUNTIME,
                "RECOVERY_COMPLETED",
                {
                    "reconcile": tick.result.status.value,
                    "bars_done": self._cursor,
                    "fills_applied": len(self._ledger.fills),
                    "to_resubmit": [e.idempotency_key for e in self._to_resubmit],
                },
            )

    def _resubmit(self) -> None:
        now = self._clock.now()
        for entry in self._to_resubmit:
            intent = outbox_intent(entry)
            bracket = bracket_of(entry.payload.get("bracket"))
            replaces = entry.payload.get("replaces")
            accepted = self._desk.resubmit(
                intent, bracket, replaces if isinstance(replaces, str) else None
            )
            if not accepted:
                current = self._store.outbox_entry(entry.idempotency_key)
                if current.status == "PENDING":
                    self._store.set_status(current.idempotency_key, "SENT", now=now)
                if current.status in ("PENDING", "SENT"):
                    self._store.set_status(
                        current.idempotency_key,
                        "FAILED",
                        now=now,
                        error="refused by the gateway when resubmitted",
                    )
            self._audit(
                Topic.RUNTIME,
                "OUTBOX_RESUBMITTED",
                {"client_order_id": entry.idempotency_key, "accepted": accepted},
            )
        self._to_resubmit = []
        self._handle_alerts()


def _components(config: EffectiveConfig, feed: BarFeed) -> EngineComponents:
    components = EngineComponents.from_config(config)
    if feed.timeframe is not components.timeframe:
        raise RuntimeInputError(
            f"the bars are {feed.timeframe}; engine {config.engine_id} trades "
            f"{components.timeframe} (engine.timeframe)",
            {"field": "engine.timeframe"},
        )
    if len(feed) == 0:
        raise RuntimeInputError("the bar feed is empty", {"field": "bars"})
    return components


def _check_resumable(run: RunRecord, config: EffectiveConfig) -> None:
    problem = None
    if run.engine_id != config.engine_id:
        problem = f"run {run.run_id} belongs to engine {run.engine_id}, not {config.engine_id}"
    elif run.config_hash != config.config_hash:
        problem = (
            f"run {run.run_id} is pinned to config {run.config_hash}; the config loaded now is "
            f"{config.config_hash} (a changed config is a new run)"
        )
    elif run.status in (RunStatus.HALTED, RunStatus.STOPPED):
        problem = (
            f"run {run.run_id} is {run.status}"
            + (f" ({run.halt_reason})" if run.halt_reason else "")
            + "; a new session is a new run"
        )
    elif run.mode is RunMode.BACKTEST:
        problem = f"run {run.run_id} is a BACKTEST run"
    if problem is not None:
        raise ResumeRefusedError(problem, {"run_id": str(run.run_id), "status": run.status})
