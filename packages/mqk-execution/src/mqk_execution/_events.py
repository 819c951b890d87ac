"""What the gateway reports: execution events for the run's event stream, and submit results."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from mqk_schemas import Decision, EventEnvelope, Order, Topic, make_event

__all__ = ["EventSink", "ExecutionEvent", "GateCheck", "SubmitResult"]


class GateCheck(StrEnum):
    """The gateway's checks, in the order they run; the first failing one is the reason.

    INTENT (the intent is executable by this gateway: its engine, not SHADOW) runs before the
    four pre-trade checks ARMED -> INTEGRITY -> RISK -> ALLOCATION.
    """

    INTENT = "INTENT"
    ARMED = "ARMED"
    INTEGRITY = "INTEGRITY"
    RISK = "RISK"
    ALLOCATION = "ALLOCATION"


@dataclass(frozen=True, slots=True)
class ExecutionEvent:
    """Something the gateway saw or did; the caller assigns its place in the run's stream."""

    topic: Topic
    event_type: str
    ts_utc: datetime
    client_order_id: str | None
    payload: Mapping[str, Any] = field(default_factory=dict)

    def to_envelope(self, *, run_id: uuid.UUID, engine_id: str, seq: int) -> EventEnvelope:
        """Wrap as the shared event envelope (correlated by client_order_id)."""
        return make_event(
            run_id=run_id,
            engine_id=engine_id,
            ts_utc=self.ts_utc,
            seq=seq,
            topic=self.topic,
            event_type=self.event_type,
            payload=dict(self.payload),
            correlation_id=self.client_order_id,
        )


EventSink = Callable[[ExecutionEvent], None]
"""Receives every :class:`ExecutionEvent` (refusals included), in order."""


@dataclass(frozen=True, slots=True)
class SubmitResult:
    """The gateway's answer to a submit or replace.

    ``accepted`` means the order passed every check and was sent to the broker (``order`` is its
    current OMS state, which may already say REJECTED by the broker, or FILLED). A refusal has
    ``accepted`` False, ``order`` None, ``check`` naming the first failing check and ``decision``
    carrying the upstream reason code and evidence. ``duplicate`` marks a client_order_id that
    was already sent (nothing new was created). ``reducing`` is the gateway's own verdict on
    whether the order can only bring the position towards zero.
    """

    accepted: bool
    decision: Decision
    order: Order | None = None
    check: GateCheck | None = None
    duplicate: bool = False
    reducing: bool | None = None
