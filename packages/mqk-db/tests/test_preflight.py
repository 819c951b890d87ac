"""Arming preflight: every failed check is listed; the phrase must be exact (LIVE only)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine

from mqk_db import (
    PreflightFailed,
    ReconcileCheckpoint,
    RunRecord,
    arm_phrase,
    arm_run,
    audit_events,
    evaluate_arming,
    get_arm_state,
    get_run,
)
from mqk_schemas import Action, RunMode, RunStatus

Kit = Any


@pytest.mark.parametrize(
    ("account_id", "limit", "phrase"),
    [
        ("PA-0000-1234", Decimal("0.02"), "ARM LIVE 1234 0.02"),
        ("PA-0000-1234", Decimal("0.020"), "ARM LIVE 1234 0.02"),
        ("ACC9876", Decimal("0.5"), "ARM LIVE 9876 0.5"),
        ("X-12AB", Decimal("1"), "ARM LIVE 12AB 1"),
    ],
)
def unit_arm_phrase_is_last4_and_normalised_daily_loss_limit(
    account_id: str, limit: Decimal, phrase: str
) -> None:
    assert arm_phrase(account_id, limit) == phrase


def scenario_configured_phrase_template_is_honoured(db: Engine, kit: Kit) -> None:
    kit.reconcile(db)
    run = kit.new_run(db)
    custom = kit.inputs(phrase_template="CONFIRM {daily_loss_limit} ON {last4}")
    with pytest.raises(PreflightFailed) as refused:
        arm_run(db, run.run_id, custom, confirmation=kit.PHRASE, now=kit.T0)
    assert [d.reason_code for d in refused.value.failures] == ["ARM_PHRASE_MISMATCH"]
    armed = arm_run(db, run.run_id, custom, confirmation="CONFIRM 0.02 ON 1234", now=kit.T0)
    assert armed.status is RunStatus.ARMED


def scenario_live_preflight_lists_every_failed_check_and_writes_nothing(
    db: Engine, kit: Kit
) -> None:
    kit.reconcile(db, result="WARN")
    run = kit.new_run(db)
    broken = kit.inputs(
        config_hash="e" * 64,
        daily_loss_limit=Decimal("0"),
        kill_switches_enabled=False,
        risk_limits={"risk.max_drawdown": Decimal("0"), "risk.max_leverage": Decimal("1")},
    )
    with pytest.raises(PreflightFailed) as refused:
        arm_run(db, run.run_id, broken, confirmation=None, now=kit.T0 + timedelta(minutes=10))
    failures = refused.value.failures
    assert [(d.reason_code, d.evidence.get("field")) for d in failures] == [
        ("RISK_LIMIT_NOT_POSITIVE", "risk.daily_loss_limit"),
        ("RISK_LIMIT_NOT_POSITIVE", "risk.max_drawdown"),
        ("CONFIG_HASH_MISMATCH", None),
        ("KILL_SWITCHES_DISABLED", "risk.kill_switches_enabled"),
        ("RECONCILE_NOT_CLEAN", None),
        ("RECONCILE_STALE", None),
        ("ARM_PHRASE_MISSING", None),
    ]
    assert all(d.action is Action.REJECT for d in failures)
    assert refused.value.evidence["failed"] == [d.reason_code for d in failures]
    assert get_run(db, run.run_id) == run
    assert get_arm_state(db, "MAIN") is None
    assert [e.event_type for e in audit_events(db, run.run_id)] == ["RUN_CREATED"]


def scenario_live_arm_without_any_reconcile_is_refused(db: Engine, kit: Kit) -> None:
    run = kit.new_run(db)
    with pytest.raises(PreflightFailed) as refused:
        arm_run(db, run.run_id, kit.inputs(), confirmation=kit.PHRASE, now=kit.T0)
    assert [d.reason_code for d in refused.value.failures] == ["RECONCILE_MISSING"]


def scenario_reconcile_of_another_engine_does_not_count(db: Engine, kit: Kit) -> None:
    kit.reconcile(db, "EXP")
    run = kit.new_run(db, engine_id="MAIN")
    with pytest.raises(PreflightFailed) as refused:
        arm_run(db, run.run_id, kit.inputs(), confirmation=kit.PHRASE, now=kit.T0)
    assert [d.reason_code for d in refused.value.failures] == ["RECONCILE_MISSING"]


@pytest.mark.parametrize(
    ("confirmation", "code"),
    [
        (None, "ARM_PHRASE_MISSING"),
        ("", "ARM_PHRASE_MISSING"),
        ("ARM LIVE 1234 0.03", "ARM_PHRASE_MISMATCH"),
        ("ARM LIVE 4321 0.02", "ARM_PHRASE_MISMATCH"),
        ("arm live 1234 0.02", "ARM_PHRASE_MISMATCH"),
        ("ARM LIVE 1234 0.02 ", "ARM_PHRASE_MISMATCH"),
        ("ARM LIVE 1234 2%", "ARM_PHRASE_MISMATCH"),
        ("ARM PAPER 1234 0.02", "ARM_PHRASE_MISMATCH"),
    ],
)
def scenario_wrong_or_missing_live_phrase_is_refused(
    db: Engine, kit: Kit, confirmation: str | None, code: str
) -> None:
    kit.reconcile(db)
    run = kit.new_run(db)
    with pytest.raises(PreflightFailed) as refused:
        arm_run(db, run.run_id, kit.inputs(), confirmation=confirmation, now=kit.T0)
    assert [d.reason_code for d in refused.value.failures] == [code]
    assert "1234" not in refused.value.failures[0].message
    assert get_run(db, run.run_id).status is RunStatus.CREATED


def scenario_paper_arm_skips_phrase_and_reconcile_but_not_limits(db: Engine, kit: Kit) -> None:
    run = kit.new_run(db, RunMode.PAPER)
    with pytest.raises(PreflightFailed) as refused:
        arm_run(
            db,
            run.run_id,
            kit.inputs(daily_loss_limit=Decimal("0"), kill_switches_enabled=False),
            now=kit.T0,
        )
    assert [d.reason_code for d in refused.value.failures] == [
        "RISK_LIMIT_NOT_POSITIVE",
        "KILL_SWITCHES_DISABLED",
    ]
    armed = arm_run(db, run.run_id, kit.inputs(), now=kit.T0)
    assert armed.status is RunStatus.ARMED


@pytest.mark.parametrize(
    ("age", "codes"),
    [
        (timedelta(seconds=0), []),
        (timedelta(seconds=300), []),
        (timedelta(seconds=301), ["RECONCILE_STALE"]),
        (timedelta(seconds=-1), ["RECONCILE_FROM_FUTURE"]),
    ],
)
def unit_reconcile_freshness_boundary(kit: Kit, age: timedelta, codes: list[str]) -> None:
    run = RunRecord(
        run_id=uuid.UUID(int=1),
        engine_id="MAIN",
        mode=RunMode.LIVE,
        shadow=False,
        status=RunStatus.CREATED,
        config_hash=kit.CONFIG_HASH,
        config_json=kit.CONFIG_JSON,
        git_revision="g",
        host_fingerprint="h",
        created_at=kit.T0,
        armed_at=None,
        started_at=None,
        halted_at=None,
        stopped_at=None,
        last_heartbeat_at=None,
        halt_reason=None,
    )
    checkpoint = ReconcileCheckpoint(
        id=1,
        engine_id="MAIN",
        run_id=None,
        captured_at=kit.T0,
        recorded_at=kit.T0,
        result="CLEAN",
        diff_summary={},
    )
    failures = evaluate_arming(
        run,
        kit.inputs(),
        confirmation=kit.PHRASE,
        latest_reconcile=checkpoint,
        now=kit.T0 + age,
    )
    assert [d.reason_code for d in failures] == codes
