"""End-to-end runs on SQLite: a clean paper run, and every kill switch end to end."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from runtime_support import (
    Harness,
    ScriptedBroker,
    config,
    feed,
    ledger_outcome,
    registry,
    strategy,
    unknown_order,
)
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from mqk_db import (
    PreflightFailed,
    ReconcileCheckpointRow,
    arm_phrase,
    audit_events,
    get_arm_state,
    get_run,
    verify_run_audit,
)
from mqk_runtime import ReplayClock, RunStore, Runtime
from mqk_schemas import RunMode, RunStatus


def _checkpoints(db: Engine) -> list[str]:
    with Session(db) as session:
        rows = session.scalars(select(ReconcileCheckpointRow).order_by(ReconcileCheckpointRow.id))
        return [row.result for row in rows]


def _events(db: Engine, runtime: Runtime) -> Counter[str]:
    return Counter(e.event_type for e in audit_events(db, runtime.run_id))


def scenario_paper_run_trades_reconciles_clean_and_stops(sqlite_db: Engine) -> None:
    harness = Harness(sqlite_db, config(), feed(bars=40))
    runtime = harness.start()
    summary = runtime.run_feed()
    runtime.stop()
    run = get_run(sqlite_db, runtime.run_id)
    broker = harness.broker.snapshot()
    assert run.status is RunStatus.STOPPED
    assert (summary.bars_done, summary.orders, summary.fills) == (40, 5, 5)
    assert summary.halts == ()
    assert set(_checkpoints(sqlite_db)) == {"CLEAN"}
    assert len(_checkpoints(sqlite_db)) == 42  # pre-arm, pre-begin, one per bar
    assert {p.symbol: p.quantity for p in broker.positions} == runtime.ledger.positions()
    assert broker.account.cash == runtime.ledger.cash
    assert broker.account.equity == runtime.ledger.equity
    assert run.last_heartbeat_at == harness.bars.bars[-1].ts_close_utc
    assert verify_run_audit(sqlite_db, runtime.run_id).ok
    events = _events(sqlite_db, runtime)
    assert events["ORDER_SENT"] == events["FILL_APPLIED"] == 5
    assert all(e.status == "ACKED" for e in RunStore(sqlite_db, runtime.run_id, "MAIN").outbox())


class StallingClock(ReplayClock):
    """Replay clock whose feed goes silent for ``stall`` before bar number ``at``."""

    def __init__(self, start: datetime, at: int, stall: timedelta) -> None:
        super().__init__(start)
        self.calls = 0
        self.at = at
        self.stall = stall

    def wait_until(self, ts: datetime) -> None:
        super().wait_until(ts)
        self.calls += 1
        if self.calls == self.at:
            self.advance(self.stall)


def scenario_stale_feed_disarms_mid_run_and_no_order_follows(sqlite_db: Engine) -> None:
    cfg = config({**strategy("flip", qty=10), "risk": {"allow_short": True}})
    harness = Harness(sqlite_db, cfg, feed(bars=20))
    harness.clock = StallingClock(harness.clock.now(), at=12, stall=timedelta(days=6))
    runtime = harness.start()
    sent_before: list[int] = []
    runtime.run_feed(
        lambda done, _total: sent_before.append(len(harness.broker.submits)) if done == 11 else None
    )
    runtime.stop()
    run = get_run(sqlite_db, runtime.run_id)
    assert run.halt_reason is not None
    assert run.halt_reason.startswith("STALE_FEED: feed 'primary' silent since")
    assert [d.reason_code for d in runtime.summary().halts][:1] == ["STALE_FEED"]
    assert len(harness.broker.submits) == sent_before[0] > 0
    assert not runtime.armed
    assert get_arm_state(sqlite_db, "MAIN").state == "DISARMED"  # type: ignore[union-attr]
    assert _events(sqlite_db, runtime)["KILL_SWITCH"] >= 1


def scenario_unknown_broker_order_halts_the_run(sqlite_db: Engine) -> None:
    cfg = config({**strategy("flip", qty=10), "risk": {"allow_short": True}})
    harness = Harness(sqlite_db, cfg, feed(bars=20))
    runtime = harness.start()

    def intrude(done: int, _total: int) -> None:
        if done == 8:
            harness.broker.place_external(unknown_order(runtime.run_id, at=harness.clock.now()))

    runtime.run_feed(intrude)
    run = get_run(sqlite_db, runtime.run_id)
    assert run.status is RunStatus.HALTED
    assert run.halt_reason is not None
    assert run.halt_reason.startswith("RECON_CRITICAL")
    assert "UNKNOWN_BROKER_ORDER" in run.halt_reason
    entries = RunStore(sqlite_db, runtime.run_id, "MAIN").outbox()
    assert {e.created_at for e in entries} <= {b.ts_close_utc for b in harness.bars.bars[:9]}
    assert _checkpoints(sqlite_db)[-1] == "CRITICAL"


def _live(db: Engine) -> tuple[Harness, ScriptedBroker, Runtime, str]:
    harness = Harness(db, config(), feed(bars=10))
    scripted = ScriptedBroker(harness.clock)
    runtime = Runtime.create(
        db,
        harness.cfg,
        harness.bars,
        mode=RunMode.LIVE,
        clock=harness.clock,
        broker_factory=lambda _run: scripted,
        registry=registry(),
    )
    phrase = arm_phrase("PA-0000-1234", Decimal("0.02"))
    return harness, scripted, runtime, phrase


def scenario_dirty_reconcile_blocks_live_arm(sqlite_db: Engine) -> None:
    harness, scripted, runtime, phrase = _live(sqlite_db)
    scripted.orders.append(unknown_order(runtime.run_id, at=harness.clock.now()))
    with pytest.raises(PreflightFailed) as refused:
        runtime.arm(phrase)
    assert [d.reason_code for d in refused.value.failures] == ["RECONCILE_NOT_CLEAN"]
    assert get_run(sqlite_db, runtime.run_id).status is RunStatus.CREATED
    assert not runtime.armed
    assert _checkpoints(sqlite_db) == ["CRITICAL"]


def scenario_dirty_reconcile_blocks_live_begin(sqlite_db: Engine) -> None:
    harness, scripted, runtime, phrase = _live(sqlite_db)
    runtime.arm(phrase)
    scripted.orders.append(unknown_order(runtime.run_id, at=harness.clock.now()))
    with pytest.raises(PreflightFailed) as refused:
        runtime.begin()
    assert [d.reason_code for d in refused.value.failures] == ["RECONCILE_NOT_CLEAN"]
    run = get_run(sqlite_db, runtime.run_id)
    assert run.status is RunStatus.HALTED
    assert run.halt_reason == "BEGIN_REFUSED: start preflight failed: RECONCILE_NOT_CLEAN"
    assert not runtime.armed
    assert _checkpoints(sqlite_db) == ["CLEAN", "CRITICAL"]


def scenario_clean_live_run_arms_with_the_phrase_and_begins(sqlite_db: Engine) -> None:
    _harness, _scripted, runtime, phrase = _live(sqlite_db)
    with pytest.raises(PreflightFailed) as refused:
        runtime.arm("ARM LIVE 9999 0.02")
    assert [d.reason_code for d in refused.value.failures] == ["ARM_PHRASE_MISMATCH"]
    runtime.arm(phrase)
    runtime.begin()
    assert get_run(sqlite_db, runtime.run_id).status is RunStatus.RUNNING
    assert runtime.armed


def scenario_reject_storm_halts(sqlite_db: Engine) -> None:
    cfg = config(
        {
            **strategy("always_long", qty=10),
            "risk": {"reject_storm": {"max_rejects": 3, "window_seconds": 864000}},
        }
    )
    from mqk_runtime import BrokerFaults

    harness = Harness(sqlite_db, cfg, feed(bars=12), faults=BrokerFaults(reject_submits=True))
    runtime = harness.start()
    runtime.run_feed()
    run = get_run(sqlite_db, runtime.run_id)
    assert run.status is RunStatus.HALTED
    assert run.halt_reason is not None
    assert run.halt_reason.startswith("KILL_SWITCH_REJECT_STORM: 3 broker rejects")
    assert len(harness.broker.submits) == 3
    entries = RunStore(sqlite_db, runtime.run_id, "MAIN").outbox()
    assert [(e.status, e.last_error) for e in entries] == [("FAILED", "FAULT_REJECT")] * 3


def scenario_drawdown_flattens_then_halts(sqlite_db: Engine) -> None:
    cfg = config({**strategy("always_long", qty=400), "risk": {"max_drawdown": "0.002"}})
    harness = Harness(sqlite_db, cfg, feed(bars=40, seed=11))
    runtime = harness.start()
    summary = runtime.run_feed()
    run = get_run(sqlite_db, runtime.run_id)
    assert run.halt_reason is not None
    assert run.halt_reason.startswith("KILL_SWITCH_MAX_DRAWDOWN")
    entries = RunStore(sqlite_db, runtime.run_id, "MAIN").outbox()
    sides = [(e.payload["intent"]["side"], e.payload["intent"]["quantity"]) for e in entries]
    assert sides == [("BUY", "400"), ("SELL", "400")]
    assert entries[1].payload["intent"]["reduce_only"] is True
    assert summary.positions == {}
    assert harness.broker.snapshot().positions == ()


def scenario_shadow_run_records_intents_and_sends_nothing(sqlite_db: Engine) -> None:
    harness = Harness(sqlite_db, config({"engine": {"shadow": True}}), feed(bars=40))
    runtime = harness.start()
    summary = runtime.run_feed()
    assert summary.shadow
    assert summary.shadow_intents == 5
    assert (summary.orders, summary.fills) == (0, 0)
    assert harness.broker.submits == ()
    shadow = [e for e in audit_events(sqlite_db, runtime.run_id) if e.event_type == "SHADOW_INTENT"]
    assert len(shadow) == 5
    assert '"shadow":true' in shadow[0].record_json


@pytest.mark.parametrize(
    ("fault", "overrides"),
    [
        ("duplicate_fills", {}),
        ("reverse_fill_batches", {**strategy("flip", qty=10), "risk": {"allow_short": True}}),
    ],
)
def fault_duplicated_and_reordered_fills_never_double_count(
    sqlite_db: Engine, tmp_path: Any, fault: str, overrides: dict[str, Any]
) -> None:
    from mqk_db import make_engine, migrate
    from mqk_runtime import BrokerFaults

    cfg = config(overrides)
    baseline_db = make_engine(f"sqlite:///{tmp_path / 'baseline.db'}")
    migrate(f"sqlite:///{tmp_path / 'baseline.db'}")
    baseline = Harness(baseline_db, cfg, feed(bars=20)).start()
    baseline.run_feed()
    faulty = Harness(sqlite_db, cfg, feed(bars=20), faults=BrokerFaults(**{fault: True}))
    runtime = faulty.start()
    summary = runtime.run_feed()
    assert summary.halts == ()
    assert ledger_outcome(runtime) == ledger_outcome(baseline)
    assert summary.fills == len(faulty.broker.snapshot().fills) == len(runtime.ledger.fills)
    baseline_db.dispose()


def scenario_a_strategy_exception_halts_the_run_and_the_process_goes_on(sqlite_db: Engine) -> None:
    harness = Harness(sqlite_db, config(strategy("boom", qty=10)), feed(bars=12))
    runtime = harness.start()
    summary = runtime.run_feed()
    run = get_run(sqlite_db, runtime.run_id)
    assert run.halt_reason is not None
    assert run.halt_reason.startswith("STRATEGY_ERROR: strategy 'boom' raised ZeroDivisionError")
    assert summary.bars_done == 12
    assert summary.orders == 1


def unit_running_the_feed_before_begin_is_refused(sqlite_db: Engine) -> None:
    from mqk_runtime import LifecycleOrderError

    runtime = Harness(sqlite_db, config(), feed(bars=5)).create()
    with pytest.raises(LifecycleOrderError, match="is CREATED; begin it before running the feed"):
        runtime.run_feed()
    runtime.arm()
    with pytest.raises(LifecycleOrderError, match="is ARMED"):
        runtime.run_feed()
    assert runtime.cursor == 0
