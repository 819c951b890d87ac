"""The database itself refuses raw SQL that would break a rule (PostgreSQL and SQLite)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, Uuid, bindparam, text
from sqlalchemy.exc import DBAPIError

from mqk_db import (
    arm_run,
    audit_events,
    begin_run,
    enqueue_order,
    get_run,
    halt_run,
    mark_inbox_applied,
    receive_broker_message,
    stop_run,
    update_outbox_status,
)
from mqk_schemas import RunMode

Kit = Any


def _raw(db: Engine, sql: str, **params: Any) -> None:
    statement = text(sql)
    for name in params:
        if name.startswith("rid"):
            statement = statement.bindparams(bindparam(name, type_=Uuid()))
    with db.begin() as connection:
        connection.execute(statement, params)


def _refused(db: Engine, marker: str, sql: str, **params: Any) -> None:
    with pytest.raises(DBAPIError) as refused:
        _raw(db, sql, **params)
    message = str(refused.value)
    # Where several triggers refuse the same row, backends fire them in different orders.
    assert any(m in message for m in marker.split("|")), message


@pytest.mark.parametrize(
    ("steps", "new_status", "marker"),
    [
        ([], "RUNNING", "MQK_ILLEGAL_TRANSITION"),
        ([], "STOPPED", "MQK_ILLEGAL_TRANSITION"),
        ([], "HALTED", "MQK_ILLEGAL_TRANSITION"),
        (["arm"], "STOPPED", "MQK_ILLEGAL_TRANSITION"),
        (["arm"], "CREATED", "MQK_ILLEGAL_TRANSITION"),
        (["arm", "begin"], "ARMED", "MQK_ILLEGAL_TRANSITION"),
        (["arm", "halt"], "RUNNING", "MQK_ILLEGAL_TRANSITION"),
        (["arm", "halt"], "ARMED", "MQK_ILLEGAL_TRANSITION"),
        (["arm", "begin", "stop"], "RUNNING", "MQK_RUN_STOPPED_TERMINAL|MQK_ILLEGAL_TRANSITION"),
        (["arm", "begin", "stop"], "CREATED", "MQK_RUN_STOPPED_TERMINAL|MQK_ILLEGAL_TRANSITION"),
        (["arm", "begin", "stop"], "STOPPED", "MQK_RUN_STOPPED_TERMINAL"),
        ([], "PAUSED", "ck_runs_status|MQK_ILLEGAL_TRANSITION"),
    ],
)
def invariant_raw_status_update_outside_the_lifecycle_is_refused(
    db: Engine, kit: Kit, steps: list[str], new_status: str, marker: str
) -> None:
    kit.reconcile(db)
    run = kit.new_run(db)
    later = kit.T0 + timedelta(minutes=1)
    for step in steps:
        if step == "arm":
            arm_run(db, run.run_id, kit.inputs(), confirmation=kit.PHRASE, now=later)
        elif step == "begin":
            begin_run(db, run.run_id, reconcile_freshness=kit.FRESHNESS, now=later)
        elif step == "halt":
            halt_run(db, run.run_id, "raw test", now=later)
        else:
            stop_run(db, run.run_id, now=later)
    before = get_run(db, run.run_id)
    _refused(
        db,
        marker,
        "UPDATE runs SET status = :status WHERE run_id = :rid",
        status=new_status,
        rid=run.run_id,
    )
    assert get_run(db, run.run_id) == before


def invariant_raw_update_cannot_make_a_second_live_run_active(db: Engine, kit: Kit) -> None:
    kit.reconcile(db)
    first, second = kit.new_run(db), kit.new_run(db)
    arm_run(db, first.run_id, kit.inputs(), confirmation=kit.PHRASE, now=kit.T0)
    _refused(
        db,
        "uq_runs_one_active_live_per_engine|UNIQUE constraint failed: runs.engine_id",
        "UPDATE runs SET status = 'ARMED' WHERE run_id = :rid",
        rid=second.run_id,
    )
    assert get_run(db, second.run_id).status == "CREATED"


def invariant_raw_legal_transition_is_accepted(db: Engine, kit: Kit) -> None:
    run = kit.new_run(db, RunMode.PAPER)
    _raw(db, "UPDATE runs SET status = 'ARMED' WHERE run_id = :rid", rid=run.run_id)
    assert get_run(db, run.run_id).status == "ARMED"


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("config_hash", "f" * 64),
        ("engine_id", "EXP"),
        ("mode", "PAPER"),
        ("config_json", "{}"),
    ],
)
def invariant_a_runs_pinned_identity_cannot_change(
    db: Engine, kit: Kit, column: str, value: str
) -> None:
    run = kit.new_run(db)
    _refused(
        db,
        "MQK_RUN_IDENTITY_IMMUTABLE",
        f"UPDATE runs SET {column} = :value WHERE run_id = :rid",
        value=value,
        rid=run.run_id,
    )
    assert get_run(db, run.run_id) == run


def invariant_a_run_cannot_be_inserted_active(db: Engine, kit: Kit) -> None:
    _refused(
        db,
        "MQK_RUN_INSERT_NOT_CREATED",
        "INSERT INTO runs (run_id, engine_id, mode, shadow, status, config_hash, config_json, "
        "git_revision, host_fingerprint, created_at) VALUES (:rid, 'MAIN', 'LIVE', false, "
        "'RUNNING', :hash, '{}', 'x', 'y', :ts)",
        rid=kit.new_run(db).run_id.__class__(int=99),
        hash="a" * 64,
        ts=kit.T0.isoformat(),
    )


def invariant_runs_and_audit_events_are_never_deleted_or_rewritten(db: Engine, kit: Kit) -> None:
    run = kit.new_run(db)
    _refused(db, "MQK_RUN_NO_DELETE", "DELETE FROM runs WHERE run_id = :rid", rid=run.run_id)
    _refused(
        db,
        "MQK_AUDIT_APPEND_ONLY",
        "UPDATE audit_events SET record_json = '{}' WHERE run_id = :rid",
        rid=run.run_id,
    )
    _refused(
        db, "MQK_AUDIT_APPEND_ONLY", "DELETE FROM audit_events WHERE run_id = :rid", rid=run.run_id
    )
    assert len(audit_events(db, run.run_id)) == 1


def invariant_halted_run_must_carry_a_reason(db: Engine, kit: Kit) -> None:
    run = kit.new_run(db, RunMode.PAPER)
    _raw(db, "UPDATE runs SET status = 'ARMED' WHERE run_id = :rid", rid=run.run_id)
    _refused(
        db,
        "ck_runs_halt_reason",
        "UPDATE runs SET status = 'HALTED', halted_at = :ts WHERE run_id = :rid",
        ts=kit.T0.isoformat(),
        rid=run.run_id,
    )


@pytest.mark.parametrize(
    ("walk", "new_status", "marker"),
    [
        ([], "ACKED", "MQK_OUTBOX_ILLEGAL_TRANSITION"),
        ([], "FAILED", "MQK_OUTBOX_ILLEGAL_TRANSITION"),
        (["SENT", "ACKED"], "PENDING", "MQK_OUTBOX_ILLEGAL_TRANSITION"),
        (["SENT", "FAILED"], "SENT", "MQK_OUTBOX_ILLEGAL_TRANSITION"),
        ([], "LOST", "ck_order_outbox_status|MQK_OUTBOX_ILLEGAL_TRANSITION"),
    ],
)
def invariant_raw_outbox_update_follows_the_state_machine(
    db: Engine, kit: Kit, walk: list[str], new_status: str, marker: str
) -> None:
    run = kit.new_run(db, RunMode.PAPER)
    arm_run(db, run.run_id, kit.inputs(), now=kit.T0)
    enqueue_order(db, run_id=run.run_id, idempotency_key="MAIN_k1", payload={}, now=kit.T0)
    for status in walk:
        update_outbox_status(db, "MAIN_k1", status, now=kit.T0)
    _refused(
        db,
        marker,
        "UPDATE order_outbox SET status = :status WHERE idempotency_key = 'MAIN_k1'",
        status=new_status,
    )


def invariant_raw_outbox_duplicate_key_is_refused(db: Engine, kit: Kit) -> None:
    run = kit.new_run(db, RunMode.PAPER)
    arm_run(db, run.run_id, kit.inputs(), now=kit.T0)
    enqueue_order(db, run_id=run.run_id, idempotency_key="MAIN_k1", payload={}, now=kit.T0)
    _refused(
        db,
        "uq_order_outbox_idempotency_key|UNIQUE constraint failed: order_outbox.idempotency_key",
        "INSERT INTO order_outbox (run_id, idempotency_key, payload_json, status, created_at, "
        "updated_at) VALUES (:rid, 'MAIN_k1', '{}', 'PENDING', :ts, :ts)",
        rid=run.run_id,
        ts=kit.T0.isoformat(),
    )


def invariant_an_applied_inbox_message_stays_applied(db: Engine, kit: Kit) -> None:
    run = kit.new_run(db, RunMode.PAPER)
    receive_broker_message(
        db, run_id=run.run_id, broker_message_id="fill-1", payload={}, now=kit.T0
    )
    assert mark_inbox_applied(db, "fill-1", now=kit.T0) is True
    _refused(
        db,
        "MQK_INBOX_IMMUTABLE",
        "UPDATE broker_inbox SET applied = false, applied_at = NULL "
        "WHERE broker_message_id = 'fill-1'",
    )
