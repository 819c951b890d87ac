"""The event envelope: one shape for everything that happens."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import Field

from mqk_schemas._base import FrozenModel
from mqk_schemas.enums import Topic
from mqk_schemas.identity import EngineId
from mqk_schemas.identity import event_id as derive_event_id
from mqk_schemas.types import UtcDatetime

__all__ = ["EventEnvelope", "make_event"]


class EventEnvelope(FrozenModel):
    """One event of a run; ``seq`` orders events within the run."""

    event_id: uuid.UUID
    run_id: uuid.UUID
    engine_id: EngineId
    ts_utc: UtcDatetime
    seq: int = Field(ge=0)
    topic: Topic
    event_type: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$")
    correlation_id: str | None = None
    causation_id: str | None = None
    payload: dict[str, Any] = Field(default_factory=dict)


def make_event(
    *,
    run_id: uuid.UUID,
    engine_id: str,
    ts_utc: Any,
    seq: int,
    topic: Topic,
    event_type: str,
    payload: dict[str, Any] | None = None,
    correlation_id: str | None = None,
    causation_id: str | None = None,
) -> EventEnvelope:
    """Build an envelope whose ``event_id`` is derived from (run_id, seq), so replays match."""
    return EventEnvelope(
        event_id=derive_event_id(run_id, seq),
        run_id=run_id,
        engine_id=engine_id,
        ts_utc=ts_utc,
        seq=seq,
        topic=topic,
        event_type=event_type,
        correlation_id=correlation_id,
        causation_id=causation_id,
        payload=payload or {},
    )
