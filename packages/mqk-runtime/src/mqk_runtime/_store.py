"""RunStore: everything one run persists, over mqk-db's outbox/inbox/audit and the runtime table.

- Outbox: one entry per order (key = client_order_id), written and committed before the broker
  is called; payload = the intent (+ bracket, + the order it replaces).
- Inbox: one message per broker fill (key = broker_fill_id). A fill is applied exactly once: the
  commit that flips ``applied`` is the moment it enters the persisted ledger, because the
  ledger is, by construction, the replay of the run's applied fills in inbox order.
- Runtime state: the cycle cursor, bars digest, risk state and OMS view at each cycle's end.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, insert, select, update

from mqk_db import (
    InboxMessage,
    OutboxEntry,
    append_audit_event,
    enqueue_order,
    inbox_messages,
    mark_inbox_applied,
    outbox_entries,
    receive_broker_message,
    update_outbox_status,
)
from mqk_execution import Bracket
from mqk_runtime._tables import RUNTIME_STATE, ensure_runtime_tables
from mqk_schemas import Fill, OrderIntent, Topic, format_decimal, format_utc, to_utc

__all__ = ["OPEN_OUTBOX_STATUSES", "CycleState", "RunStore", "outbox_intent"]

OPEN_OUTBOX_STATUSES = ("PENDING", "SENT", "AMBIGUOUS")
"""Outbox entries whose fate at the broker is not yet known."""


@dataclass(frozen=True, slots=True)
class CycleState:
    """The runtime state row of a run (see :mod:`mqk_runtime._tables`)."""

    run_id: uuid.UUID
    feed_digest: str
    bars_total: int
    bars_done: int
    risk_state_json: str | None
    oms: dict[str, Any] | None


def outbox_intent(entry: OutboxEntry) -> OrderIntent:
    """The intent stored in an outbox entry."""
    return OrderIntent.model_validate(entry.payload["intent"])


def _bracket_payload(bracket: Bracket | None) -> dict[str, str | None] | None:
    if bracket is None:
        return None
    return {
        "stop_price": format_decimal(bracket.stop_price),
        "target_price": None
        if bracket.target_price is None
        else format_decimal(bracket.target_price),
        "trail_amount": None
        if bracket.trail_amount is None
        else format_decimal(bracket.trail_amount),
    }


class RunStore:
    """The persistence of one run (one engine, one run id) in the run database."""

    def __init__(self, engine: Engine, run_id: uuid.UUID, engine_id: str) -> None:
        ensure_runtime_tables(engine)
        self._engine = engine
        self._run_id = run_id
        self._engine_id = engine_id

    @property
    def db(self) -> Engine:
        """The database engine."""
        return self._engine

    @property
    def run_id(self) -> uuid.UUID:
        """The run."""
        return self._run_id

    @property
    def engine_id(self) -> str:
        """The run's engine."""
        return self._engine_id

    # -- outbox -------------------------------------------------------------------------------

    def enqueue(
        self,
        intent: OrderIntent,
        *,
        bracket: Bracket | None,
        replaces: str | None,
        now: datetime,
    ) -> tuple[OutboxEntry, bool]:
        """Commit the order as PENDING (same id again: the existing entry, ``created`` False)."""
        payload = {
            "intent": intent.model_dump(mode="json"),
            "bracket": _bracket_payload(bracket),
            "replaces": replaces,
        }
        return enqueue_order(
            self._engine,
            run_id=self._run_id,
            idempotency_key=intent.client_order_id,
            payload=payload,
            now=now,
        )

    def set_status(
        self,
        key: str,
        status: str,
        *,
        now: datetime,
        broker_order_id: str | None = None,
        error: str | None = None,
    ) -> OutboxEntry:
        """Move an outbox entry (PENDING -> SENT -> ACKED | FAILED | AMBIGUOUS)."""
        return update_outbox_status(
            self._engine, key, status, now=now, broker_order_id=broker_order_id, error=error
        )

    def outbox(self, statuses: Iterable[str] | None = None) -> list[OutboxEntry]:
        """The run's outbox entries in write order."""
        return outbox_entries(self._engine, self._run_id, statuses)

    def outbox_entry(self, key: str) -> OutboxEntry:
        """The outbox entry with idempotency key ``key``."""
        for entry in self.outbox():
            if entry.idempotency_key == key:
                return entry
        raise KeyError(key)

    def next_intent_seq(self) -> int:
        """One past the highest intent sequence in the outbox (0 for a new run)."""
        seqs = [int(e.payload["intent"]["intent_seq"]) for e in self.outbox()]
        return max(seqs) + 1 if seqs else 0

    # -- inbox --------------------------------------------------------------------------------

    def receive_fill(self, fill: Fill, *, now: datetime) -> tuple[InboxMessage, bool]:
        """Store a broker fill once under its broker_fill_id (not yet applied)."""
        return receive_broker_message(
            self._engine,
            run_id=self._run_id,
            broker_message_id=fill.broker_fill_id,
            payload=fill.model_dump(mode="json"),
            now=now,
        )

    def apply_fill(self, broker_fill_id: str, *, now: datetime) -> bool:
        """Commit the fill as applied; False when it already was (never apply it again)."""
        return mark_inbox_applied(self._engine, broker_fill_id, now=now)

    def fills(self, *, applied: bool | None = True) -> list[Fill]:
        """The run's fills in inbox order (by default only the applied ones: the ledger)."""
        return [inbox_fill(m) for m in inbox_messages(self._engine, self._run_id, applied=applied)]

    # -- audit --------------------------------------------------------------------------------

    def audit(
        self, topic: Topic, event_type: str, payload: Mapping[str, Any], *, now: datetime
    ) -> None:
        """Chain one event onto the run's audit log."""
        append_audit_event(
            self._engine,
            self._run_id,
            topic,
            event_type,
            {"engine_id": self._engine_id, **payload},
            now=now,
        )

    # -- runtime state ------------------------------------------------------------------------

    def load_state(self) -> CycleState | None:
        """The run's cycle state (None before the run first started)."""
        with self._engine.connect() as connection:
            row = connection.execute(
                select(RUNTIME_STATE).where(RUNTIME_STATE.c.run_id == self._run_id)
            ).first()
        if row is None:
            return None
        return CycleState(
            run_id=row.run_id,
            feed_digest=row.feed_digest,
            bars_total=row.bars_total,
            bars_done=row.bars_done,
            risk_state_json=row.risk_state_json,
            oms=None if row.oms_json is None else json.loads(row.oms_json, parse_float=Decimal),
        )

    def init_state(self, *, feed_digest: str, bars_total: int, now: datetime) -> CycleState:
        """Create the cycle state of a run starting on a feed (cursor 0)."""
        with self._engine.begin() as connection:
            connection.execute(
                insert(RUNTIME_STATE).values(
                    run_id=self._run_id,
                    feed_digest=feed_digest,
                    bars_total=bars_total,
                    bars_done=0,
                    risk_state_json=None,
                    oms_json=None,
                    updated_at=format_utc(to_utc(now)),
                )
            )
        return CycleState(self._run_id, feed_digest, bars_total, 0, None, None)

    def save_cycle(
        self, *, bars_done: int, risk_state_json: str, oms_json: str, now: datetime
    ) -> None:
        """Commit the end of a cycle: cursor, risk state and OMS view, in one transaction."""
        with self._engine.begin() as connection:
            connection.execute(
                update(RUNTIME_STATE)
                .where(RUNTIME_STATE.c.run_id == self._run_id)
                .values(
                    bars_done=bars_done,
                    risk_state_json=risk_state_json,
                    oms_json=oms_json,
                    updated_at=format_utc(to_utc(now)),
                )
            )


def inbox_fill(message: InboxMessage) -> Fill:
    """The fill stored in an inbox message."""
    return Fill.model_validate(message.payload)
