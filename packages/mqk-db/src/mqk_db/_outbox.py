"""Order outbox and broker inbox: crossing the process boundary exactly once.

An order is written to the outbox (unique idempotency key) before the broker is called, so a
restart finds it and resubmits with the same key instead of creating a second order. A broker
message is stored in the inbox under its unique message id and marked applied once, so a
replayed message is never applied twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mqk_db._models import BrokerInboxRow, OrderOutboxRow, RunRow
from mqk_db._records import InboxMessage, OutboxEntry
from mqk_db.errors import DbInputError, IllegalTransition, OutboxError, RunNotFound
from mqk_schemas import RunStatus, canonical_json, to_utc

__all__ = [
    "OUTBOX_TRANSITIONS",
    "enqueue_order",
    "inbox_messages",
    "mark_inbox_applied",
    "outbox_entries",
    "receive_broker_message",
    "update_outbox_status",
]

OUTBOX_TRANSITIONS: Mapping[str, frozenset[str]] = {
    "PENDING": frozenset({"SENT"}),
    "SENT": frozenset({"ACKED", "FAILED", "AMBIGUOUS"}),
    "AMBIGUOUS": frozenset({"ACKED", "FAILED"}),
    "ACKED": frozenset(),
    "FAILED": frozenset(),
}
"""Legal outbox moves (the database enforces the same with a trigger)."""

_EXECUTING = (RunStatus.ARMED.value, RunStatus.RUNNING.value)


def enqueue_order(
    engine: Engine,
    *,
    run_id: uuid.UUID,
    idempotency_key: str,
    payload: Mapping[str, Any],
    now: datetime,
) -> tuple[OutboxEntry, bool]:
    """Write an order to the outbox as PENDING; returns ``(entry, created)``.

    Re-enqueueing the same key returns the existing entry with ``created=False``; the same
    key with a different payload is an :class:`OutboxError`. The run must be ARMED or RUNNING.
    """
    if not idempotency_key or len(idempotency_key) > 128:
        raise DbInputError("idempotency_key must be 1..128 characters", {"field": "key"})
    payload_json = canonical_json(dict(payload))
    ts = to_utc(now)
    try:
        with Session(engine) as session, session.begin():
            existing = _by_key(session, idempotency_key)
            if existing is not None:
                return _same_payload(existing, payload_json), False
            run = session.get(RunRow, run_id)
            if run is None:
                raise RunNotFound(run_id)
            if run.status not in _EXECUTING:
                raise IllegalTransition(
                    run_id,
                    run.status,
                    "ENQUEUE_ORDER",
                    f"run {run_id} is {run.status}; orders are only written for an ARMED or "
                    "RUNNING run",
                )
            row = OrderOutboxRow(
                run_id=run_id,
                idempotency_key=idempotency_key,
                payload_json=payload_json,
                status="PENDING",
                created_at=ts,
                updated_at=ts,
            )
            session.add(row)
            session.flush()
            return OutboxEntry.from_row(row), True
    except IntegrityError:
        # Another writer inserted the same key between our read and our insert.
        with Session(engine) as session, session.begin():
            existing = _by_key(session, idempotency_key)
            if existing is None:
                raise
            return _same_payload(existing, payload_json), False


def update_outbox_status(
    engine: Engine,
    idempotency_key: str,
    status: str,
    *,
    now: datetime,
    broker_order_id: str | None = None,
    error: str | None = None,
) -> OutboxEntry:
    """Move an outbox entry along PENDING -> SENT -> ACKED | FAILED | AMBIGUOUS."""
    with Session(engine) as session, session.begin():
        row = session.scalars(
            select(OrderOutboxRow)
            .where(OrderOutboxRow.idempotency_key == idempotency_key)
            .with_for_update()
        ).first()
        if row is None:
            raise OutboxError(
                f"no outbox entry has key {idempotency_key!r}", {"key": idempotency_key}
            )
        if status not in OUTBOX_TRANSITIONS.get(row.status, frozenset()):
            raise OutboxError(
                f"outbox entry {idempotency_key!r} is {row.status}; {row.status} -> {status} "
                "is not legal",
                {"key": idempotency_key, "from": row.status, "to": status},
            )
        row.status = status
        row.updated_at = to_utc(now)
        if broker_order_id is not None:
            row.broker_order_id = broker_order_id
        if error is not None:
            row.last_error = error
        session.flush()
        return OutboxEntry.from_row(row)


def outbox_entries(
    engine: Engine, run_id: uuid.UUID, statuses: Iterable[str] | None = None
) -> list[OutboxEntry]:
    """The run's outbox entries in write order, optionally only some statuses."""
    query = select(OrderOutboxRow).where(OrderOutboxRow.run_id == run_id)
    if statuses is not None:
        query = query.where(OrderOutboxRow.status.in_(list(statuses)))
    with Session(engine) as session, session.begin():
        return [OutboxEntry.from_row(r) for r in session.scalars(query.order_by(OrderOutboxRow.id))]


def receive_broker_message(
    engine: Engine,
    *,
    run_id: uuid.UUID,
    broker_message_id: str,
    payload: Mapping[str, Any],
    now: datetime,
) -> tuple[InboxMessage, bool]:
    """Store a broker message once; returns ``(message, created)`` (a replay gives False)."""
    if not broker_message_id or len(broker_message_id) > 128:
        raise DbInputError("broker_message_id must be 1..128 characters", {"field": "id"})
    payload_json = canonical_json(dict(payload))
    try:
        with Session(engine) as session, session.begin():
            existing = _by_message_id(session, broker_message_id)
            if existing is not None:
                return InboxMessage.from_row(existing), False
            if session.get(RunRow, run_id) is None:
                raise RunNotFound(run_id)
            row = BrokerInboxRow(
                run_id=run_id,
                broker_message_id=broker_message_id,
                payload_json=payload_json,
                received_at=to_utc(now),
                applied=False,
                applied_at=None,
            )
            session.add(row)
            session.flush()
            return InboxMessage.from_row(row), True
    except IntegrityError:
        with Session(engine) as session, session.begin():
            existing = _by_message_id(session, broker_message_id)
            if existing is None:
                raise
            return InboxMessage.from_row(existing), False


def mark_inbox_applied(engine: Engine, broker_message_id: str, *, now: datetime) -> bool:
    """Mark a message applied; False if it already was (the caller must not apply it again)."""
    with Session(engine) as session, session.begin():
        row = session.scalars(
            select(BrokerInboxRow)
            .where(BrokerInboxRow.broker_message_id == broker_message_id)
            .with_for_update()
        ).first()
        if row is None:
            raise OutboxError(
                f"no inbox message has id {broker_message_id!r}", {"id": broker_message_id}
            )
        if row.applied:
            return False
        row.applied = True
        row.applied_at = to_utc(now)
        session.flush()
        return True


def inbox_messages(
    engine: Engine, run_id: uuid.UUID, *, applied: bool | None = None
) -> list[InboxMessage]:
    """The run's inbox messages in arrival order, optionally only (un)applied ones."""
    query = select(BrokerInboxRow).where(BrokerInboxRow.run_id == run_id)
    if applied is not None:
        query = query.where(BrokerInboxRow.applied == applied)
    with Session(engine) as session, session.begin():
        return [
            InboxMessage.from_row(r) for r in session.scalars(query.order_by(BrokerInboxRow.id))
        ]


def _by_key(session: Session, key: str) -> OrderOutboxRow | None:
    return session.scalars(
        select(OrderOutboxRow).where(OrderOutboxRow.idempotency_key == key)
    ).first()


def _by_message_id(session: Session, message_id: str) -> BrokerInboxRow | None:
    return session.scalars(
        select(BrokerInboxRow).where(BrokerInboxRow.broker_message_id == message_id)
    ).first()


def _same_payload(row: OrderOutboxRow, payload_json: str) -> OutboxEntry:
    if row.payload_json != payload_json:
        raise OutboxError(
            f"idempotency key {row.idempotency_key!r} is already used by a different order",
            {"key": row.idempotency_key},
        )
    return OutboxEntry.from_row(row)
