"""Restart rules: what may resume, how it comes back (disarmed), and how open orders resolve.

A crash is simulated in-process here (a failpoint raising out of the runtime, the runtime then
dropped); ``test_crash_kill.py`` does the same with real SIGKILLed processes.
"""

from __future__ import annotations

import uuid

import pytest
from runtime_support import Harness, config, feed, ledger_outcome
from sqlalchemy import Engine

from mqk_db import get_arm_state, get_run
from mqk_runtime import (
    BarsMismatchError,
    Failpoints,
    ResumeRefusedError,
    RunStore,
    Runtime,
)
from mqk_schemas import RunStatus


class Crash(BaseException):
    """Raised by a failpoint: the process "dies" there."""


def _crash_at(point: str, hit: int = 1) -> Failpoints:
    def die(name: str) -> None:
        raise Crash(name)

    return Failpoints({point: hit}, action=die)


def _crashed_run(db: Engine, point: str, hit: int = 1) -> tuple[Harness, uuid.UUID]:
    harness = Harness(db, config(), feed(bars=40), failpoints=_crash_at(point, hit))
    runtime = harness.start()
    with pytest.raises(Crash):
        runtime.run_feed()
    harness.failpoints = None
    return harness, runtime.run_id


def _baseline(db: Engine) -> Runtime:
    runtime = Harness(db, config(), feed(bars=40)).start()
    runtime.run_feed()
    return runtime


def scenario_a_restart_comes_back_disarmed_and_rearms_after_a_clean_reconcile(
    sqlite_db: Engine,
) -> None:
    harness, run_id = _crashed_run(sqlite_db, "after_cycle_commit", hit=15)
    assert get_arm_state(sqlite_db, "MAIN").state == "ARMED"  # type: ignore[union-attr]
    runtime = harness.resume(run_id)
    assert not runtime.armed
    assert get_arm_state(sqlite_db, "MAIN").state == "DISARMED"  # type: ignore[union-attr]
    assert runtime.cursor == 15
    runtime.arm()
    assert runtime.armed
    assert get_arm_state(sqlite_db, "MAIN").run_id == run_id  # type: ignore[union-attr]
    runtime.begin()
    summary = runtime.run_feed()
    assert (summary.resumed, summary.bars_this_session, summary.bars_done) == (True, 25, 40)


@pytest.mark.parametrize(
    ("point", "hit", "resolution"),
    [
        ("after_outbox_commit", 2, "RESUBMIT"),
        ("before_broker_submit", 2, "RESUBMIT"),
        ("after_broker_submit", 2, "ACKED"),
    ],
)
def fault_open_outbox_entries_resolve_against_the_broker(
    sqlite_db: Engine, tmp_path: object, point: str, hit: int, resolution: str
) -> None:
    harness, run_id = _crashed_run(sqlite_db, point, hit)
    store = RunStore(sqlite_db, run_id, "MAIN")
    open_keys = [e.idempotency_key for e in store.outbox(["PENDING", "SENT"])]
    assert len(open_keys) == 1
    runtime = harness.resume(run_id)
    runtime.arm()
    runtime.begin()
    runtime.run_feed()
    entry = store.outbox_entry(open_keys[0])
    assert entry.status == "ACKED"
    assert harness.broker.submits.count(open_keys[0]) == 1
    assert len(harness.broker.submits) == len(set(harness.broker.submits))
    resolved = next(
        e for e in _audit(sqlite_db, run_id) if e.event_type == "OUTBOX_RESOLVED"
    ).record_json
    assert f'"{open_keys[0]}":"{resolution}"' in resolved


def fault_without_resubmission_an_order_missing_at_the_broker_is_ambiguous_and_halts(
    sqlite_db: Engine,
) -> None:
    harness, run_id = _crashed_run(sqlite_db, "after_outbox_commit", hit=2)
    runtime = harness.resume(run_id, resubmit_missing=False)
    run = get_run(sqlite_db, run_id)
    assert run.status is RunStatus.HALTED
    assert run.halt_reason is not None
    assert run.halt_reason.startswith("OUTBOX_AMBIGUOUS")
    assert [e.status for e in RunStore(sqlite_db, run_id, "MAIN").outbox()][-1] == "AMBIGUOUS"
    with pytest.raises(ResumeRefusedError, match="halted"):
        runtime.arm()


def fault_a_resumed_run_ends_with_the_uninterrupted_ledger(
    sqlite_db: Engine, tmp_path: object
) -> None:
    from mqk_db import make_engine, migrate

    url = f"sqlite:///{tmp_path}/baseline.db"  # type: ignore[str-bytes-safe]
    migrate(url)
    baseline_db = make_engine(url)
    expected = ledger_outcome(_baseline(baseline_db))
    harness, run_id = _crashed_run(sqlite_db, "mid_fill_apply", hit=3)
    runtime = harness.resume(run_id)
    runtime.arm()
    runtime.begin()
    runtime.run_feed()
    assert ledger_outcome(runtime) == expected
    baseline_db.dispose()


def unit_stopped_and_halted_runs_do_not_resume(sqlite_db: Engine) -> None:
    harness = Harness(sqlite_db, config(), feed(bars=10))
    runtime = harness.start()
    runtime.run_feed()
    runtime.stop()
    with pytest.raises(ResumeRefusedError, match="is STOPPED; a new session is a new run"):
        harness.resume(runtime.run_id)


def unit_resuming_with_other_bars_is_refused(sqlite_db: Engine) -> None:
    _harness, run_id = _crashed_run(sqlite_db, "after_cycle_commit", hit=3)
    other = Harness(sqlite_db, config(), feed(bars=40, seed=99))
    with pytest.raises(BarsMismatchError, match="started on bars with digest"):
        other.resume(run_id)
    assert get_arm_state(sqlite_db, "MAIN").state == "ARMED"  # type: ignore[union-attr]


def unit_resuming_with_a_changed_config_is_refused(sqlite_db: Engine) -> None:
    _harness, run_id = _crashed_run(sqlite_db, "after_cycle_commit", hit=3)
    changed = Harness(sqlite_db, config({"risk": {"max_drawdown": "0.05"}}), feed(bars=40))
    with pytest.raises(ResumeRefusedError, match="a changed config is a new run"):
        changed.resume(run_id)


def _audit(db: Engine, run_id: uuid.UUID) -> list[object]:
    from mqk_db import audit_events

    return list(audit_events(db, run_id))


def fault_a_dirty_recovery_reconcile_halts_and_nothing_is_rearmed(sqlite_db: Engine) -> None:
    from runtime_support import unknown_order

    from mqk_runtime import PaperJournal

    harness, run_id = _crashed_run(sqlite_db, "after_cycle_commit", hit=12)
    at = harness.bars.bars[11].ts_close_utc
    outsider = unknown_order(run_id, at=at)
    PaperJournal(sqlite_db, run_id).append(
        "EXTERNAL", at, {"order": outsider.model_dump(mode="json")}
    )
    runtime = harness.resume(run_id)
    run = get_run(sqlite_db, run_id)
    assert run.status is RunStatus.HALTED
    assert run.halt_reason is not None
    assert run.halt_reason.startswith("RECON_CRITICAL")
    assert get_arm_state(sqlite_db, "MAIN").state == "DISARMED"  # type: ignore[union-attr]
    with pytest.raises(ResumeRefusedError, match="RECON_CRITICAL"):
        runtime.arm()
