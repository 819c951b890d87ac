"""Scenario tests of the run lifecycle API, on SQLite and on PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from mqk_db import (
    DbInputError,
    IllegalTransition,
    LiveRunAlreadyActive,
    PreflightFailed,
    RunNotFound,
    arm_run,
    audit_events,
    begin_run,
    disarm_engine,
    get_arm_state,
    get_run,
    halt_run,
    halt_stale_runs,
    heartbeat_run,
    list_runs,
    stale_runs,
    stop_run,
    verify_run_audit,
)
from mqk_schemas import RunMode, RunStatus

Kit = Any


def _arm(db: Engine, kit: Kit, run_id: uuid.UUID, minutes: int = 1) -> None:
    arm_run(
        db,
        run_id,
        kit.inputs(),
        confirmation=kit.PHRASE,
        now=kit.T0 + timedelta(minutes=minutes),
    )


def _begin(db: Engine, kit: Kit, run_id: uuid.UUID, minutes: int = 2) -> None:
    begin_run(
        db, run_id, reconcile_freshness=kit.FRESHNESS, now=kit.T0 + timedelta(minutes=minutes)
    )


def scenario_live_run_goes_created_armed_running_stopped_with_chained_audit(
    db: Engine, kit: Kit
) -> None:
    kit.reconcile(db)
    run = kit.new_run(db)
    assert run.status is RunStatus.CREATED
    armed = arm_run(
        db, run.run_id, kit.inputs(), confirmation=kit.PHRASE, now=kit.T0 + timedelta(minutes=1)
    )
    assert (armed.status, armed.armed_at) == (RunStatus.ARMED, kit.T0 + timedelta(minutes=1))
    state = get_arm_state(db, "MAIN")
    assert state is not None
    assert (state.state, state.run_id) == ("ARMED", run.run_id)
    running = begin_run(
        db, run.run_id, reconcile_freshness=kit.FRESHNESS, now=kit.T0 + timedelta(minutes=2)
    )
    assert running.status is RunStatus.RUNNING
    assert running.started_at == running.last_heartbeat_at == kit.T0 + timedelta(minutes=2)
    beat = heartbeat_run(db, run.run_id, now=kit.T0 + timedelta(minutes=3))
    assert beat.last_heartbeat_at == kit.T0 + timedelta(minutes=3)
    stopped = stop_run(db, run.run_id, now=kit.T0 + timedelta(minutes=4))
    assert stopped.status is RunStatus.STOPPED
    assert stopped.stopped_at == kit.T0 + timedelta(minutes=4)
    assert get_run(db, run.run_id) == stopped
    disarmed = get_arm_state(db, "MAIN")
    assert disarmed is not None
    assert disarmed.state == "DISARMED"
    events = audit_events(db, run.run_id)
    assert [e.event_type for e in events] == [
        "RUN_CREATED",
        "RUN_ARMED",
        "RUN_STARTED",
        "RUN_STOPPED",
    ]
    assert [e.seq for e in events] == [1, 2, 3, 4]
    verification = verify_run_audit(db, run.run_id)
    assert (verification.ok, verification.lines) == (True, 4)
    assert verification.last_hash == events[-1].hash


def scenario_halted_run_keeps_its_reason_and_can_only_stop(db: Engine, kit: Kit) -> None:
    kit.reconcile(db)
    run = kit.new_run(db)
    _arm(db, kit, run.run_id)
    halted = halt_run(db, run.run_id, "operator saw a bad fill", now=kit.T0 + timedelta(minutes=5))
    assert (halted.status, halted.halt_reason) == (RunStatus.HALTED, "operator saw a bad fill")
    with pytest.raises(IllegalTransition) as refused:
        _begin(db, kit, run.run_id, minutes=6)
    assert (refused.value.current, refused.value.requested) == ("HALTED", "RUNNING")
    stopped = stop_run(db, run.run_id, now=kit.T0 + timedelta(minutes=7))
    assert (stopped.status, stopped.halt_reason) == (RunStatus.STOPPED, "operator saw a bad fill")


@pytest.mark.parametrize("first_state", ["ARMED", "RUNNING"])
def scenario_second_live_arm_refused_while_first_active_allowed_after_stop(
    db: Engine, kit: Kit, first_state: str
) -> None:
    kit.reconcile(db)
    first = kit.new_run(db)
    second = kit.new_run(db)
    _arm(db, kit, first.run_id)
    if first_state == "RUNNING":
        _begin(db, kit, first.run_id)
    with pytest.raises(LiveRunAlreadyActive) as refused:
        _arm(db, kit, second.run_id, minutes=3)
    assert refused.value.active_run_id == first.run_id
    assert refused.value.active_status == first_state
    assert get_run(db, second.run_id).status is RunStatus.CREATED
    if first_state == "ARMED":
        halt_run(db, first.run_id, "make room", now=kit.T0 + timedelta(minutes=3))
    stop_run(db, first.run_id, now=kit.T0 + timedelta(minutes=3))
    armed = arm_run(
        db, second.run_id, kit.inputs(), confirmation=kit.PHRASE, now=kit.T0 + timedelta(minutes=4)
    )
    assert armed.status is RunStatus.ARMED


def scenario_halted_live_run_leaves_the_active_set(db: Engine, kit: Kit) -> None:
    kit.reconcile(db)
    first, second = kit.new_run(db), kit.new_run(db)
    _arm(db, kit, first.run_id)
    halt_run(db, first.run_id, "deadman", now=kit.T0 + timedelta(minutes=2))
    _arm(db, kit, second.run_id, minutes=3)
    assert [r.run_id for r in list_runs(db, statuses=[RunStatus.ARMED])] == [second.run_id]


def scenario_live_runs_of_different_engines_and_paper_runs_do_not_block_each_other(
    db: Engine, kit: Kit
) -> None:
    kit.reconcile(db, "MAIN")
    kit.reconcile(db, "EXP")
    main_live = kit.new_run(db, RunMode.LIVE, "MAIN")
    exp_live = kit.new_run(db, RunMode.LIVE, "EXP")
    main_paper = kit.new_run(db, RunMode.PAPER, "MAIN")
    _arm(db, kit, main_live.run_id)
    _arm(db, kit, exp_live.run_id)
    arm_run(db, main_paper.run_id, kit.inputs(), now=kit.T0 + timedelta(minutes=1))
    active = list_runs(db, statuses=[RunStatus.ARMED])
    assert {r.run_id for r in active} == {main_live.run_id, exp_live.run_id, main_paper.run_id}


@pytest.mark.parametrize(
    ("setup", "action", "current", "requested"),
    [
        ([], "begin", "CREATED", "RUNNING"),
        ([], "stop", "CREATED", "STOPPED"),
        ([], "halt", "CREATED", "HALTED"),
        (["arm"], "arm", "ARMED", "ARMED"),
        (["arm"], "stop", "ARMED", "STOPPED"),
        (["arm", "begin"], "begin", "RUNNING", "RUNNING"),
        (["arm", "begin", "stop"], "arm", "STOPPED", "ARMED"),
        (["arm", "begin", "stop"], "halt", "STOPPED", "HALTED"),
        (["arm", "begin", "stop"], "stop", "STOPPED", "STOPPED"),
        (["arm", "halt"], "halt", "HALTED", "HALTED"),
        (["arm", "halt"], "arm", "HALTED", "ARMED"),
    ],
)
def scenario_illegal_transitions_are_refused_and_change_nothing(
    db: Engine, kit: Kit, setup: list[str], action: str, current: str, requested: str
) -> None:
    kit.reconcile(db)
    run = kit.new_run(db)
    steps = {
        "arm": lambda: _arm(db, kit, run.run_id),
        "begin": lambda: _begin(db, kit, run.run_id),
        "stop": lambda: stop_run(db, run.run_id, now=kit.T0 + timedelta(minutes=3)),
        "halt": lambda: halt_run(db, run.run_id, "test", now=kit.T0 + timedelta(minutes=3)),
    }
    for step in setup:
        steps[step]()
    before = get_run(db, run.run_id)
    events_before = len(audit_events(db, run.run_id))
    with pytest.raises(IllegalTransition) as refused:
        steps[action]()
    assert (refused.value.current, refused.value.requested) == (current, requested)
    assert refused.value.reason_code == "RUN_ILLEGAL_TRANSITION"
    assert get_run(db, run.run_id) == before
    assert len(audit_events(db, run.run_id)) == events_before


def scenario_unknown_run_is_reported_by_id(db: Engine, kit: Kit) -> None:
    missing = uuid.UUID(int=7)
    with pytest.raises(RunNotFound) as refused:
        stop_run(db, missing, now=kit.T0)
    assert refused.value.run_id == missing
    assert refused.value.reason_code == "RUN_NOT_FOUND"


def unit_halt_without_reason_is_bad_input(db: Engine, kit: Kit) -> None:
    kit.reconcile(db)
    run = kit.new_run(db)
    _arm(db, kit, run.run_id)
    with pytest.raises(DbInputError):
        halt_run(db, run.run_id, "   ", now=kit.T0)
    assert get_run(db, run.run_id).status is RunStatus.ARMED


def scenario_stale_heartbeat_is_reported_and_halted(db: Engine, kit: Kit) -> None:
    kit.reconcile(db)
    kit.reconcile(db, "EXP")
    stale = kit.new_run(db)
    fresh = kit.new_run(db, engine_id="EXP")
    for run in (stale, fresh):
        _arm(db, kit, run.run_id)
        _begin(db, kit, run.run_id)
    heartbeat_run(db, fresh.run_id, now=kit.T0 + timedelta(minutes=10))
    threshold = timedelta(seconds=30)
    now = kit.T0 + timedelta(minutes=10, seconds=10)
    assert [r.run_id for r in stale_runs(db, threshold=threshold, now=now)] == [stale.run_id]
    assert stale_runs(db, threshold=threshold, now=now, engine_id="EXP") == []
    halted = halt_stale_runs(db, threshold=threshold, now=now)
    assert [r.run_id for r in halted] == [stale.run_id]
    assert halted[0].status is RunStatus.HALTED
    assert halted[0].halt_reason is not None
    assert halted[0].halt_reason.startswith("HEARTBEAT_STALE")
    assert get_run(db, fresh.run_id).status is RunStatus.RUNNING
    assert stale_runs(db, threshold=threshold, now=now) == []
    assert audit_events(db, stale.run_id)[-1].event_type == "RUN_HALTED"


def scenario_heartbeat_needs_a_running_run(db: Engine, kit: Kit) -> None:
    run = kit.new_run(db)
    with pytest.raises(IllegalTransition) as refused:
        heartbeat_run(db, run.run_id, now=kit.T0)
    assert refused.value.current == "CREATED"


def scenario_disarmed_engine_cannot_start_its_armed_run(db: Engine, kit: Kit) -> None:
    kit.reconcile(db)
    run = kit.new_run(db)
    _arm(db, kit, run.run_id)
    disarm_engine(db, "MAIN", "process restarted", now=kit.T0 + timedelta(minutes=2))
    with pytest.raises(PreflightFailed) as refused:
        _begin(db, kit, run.run_id, minutes=3)
    assert [d.reason_code for d in refused.value.failures] == ["ENGINE_NOT_ARMED_FOR_RUN"]
    assert get_run(db, run.run_id).status is RunStatus.ARMED


@pytest.mark.parametrize(
    ("late_reconcile", "minutes", "codes"),
    [
        (None, 10, ["RECONCILE_STALE"]),
        ("WARN", 2, ["RECONCILE_NOT_CLEAN"]),
        ("CRITICAL", 7, ["RECONCILE_NOT_CLEAN", "RECONCILE_STALE"]),
    ],
)
def scenario_begin_rechecks_the_reconcile_of_a_live_run(
    db: Engine, kit: Kit, late_reconcile: str | None, minutes: int, codes: list[str]
) -> None:
    kit.reconcile(db)
    run = kit.new_run(db)
    _arm(db, kit, run.run_id)
    if late_reconcile is not None:
        kit.reconcile(db, at=kit.T0 + timedelta(seconds=90), result=late_reconcile)
    with pytest.raises(PreflightFailed) as refused:
        _begin(db, kit, run.run_id, minutes=minutes)
    assert [d.reason_code for d in refused.value.failures] == codes
    assert get_run(db, run.run_id).status is RunStatus.ARMED


def scenario_paper_begin_does_not_need_a_reconcile(db: Engine, kit: Kit) -> None:
    run = kit.new_run(db, RunMode.PAPER)
    arm_run(db, run.run_id, kit.inputs(), now=kit.T0)
    running = begin_run(db, run.run_id, reconcile_freshness=kit.FRESHNESS, now=kit.T0)
    assert running.status is RunStatus.RUNNING
