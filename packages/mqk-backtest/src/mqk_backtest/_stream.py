"""The run's ordered event stream, kept as canonical JSON-ready records (no per-event pydantic).

Records have the shape of :class:`mqk_schemas.EventEnvelope`; values are already plain JSON
types (exact decimals as strings), so serialising one is a single ``json.dumps``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from mqk_schemas import Topic, event_id_texts, format_decimal, format_utc, jsonable

__all__ = ["EventStream", "record_json"]


def record_json(record: Mapping[str, Any]) -> str:
    """Canonical JSON text of one record (sorted keys, no spaces)."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class EventStream:
    """Appends envelope-shaped records with consecutive ``seq`` numbers."""

    def __init__(self, run_id: uuid.UUID, engine_id: str) -> None:
        self._run = str(run_id)
        self._engine_id = engine_id
        self._event_id = event_id_texts(run_id)
        self._records: list[dict[str, Any]] = []
        self._ts: datetime | None = None
        self._ts_text = ""

    @property
    def records(self) -> list[dict[str, Any]]:
        """Every record so far, in order."""
        return self._records

    def __len__(self) -> int:
        return len(self._records)

    def add(
        self,
        ts: datetime,
        topic: Topic,
        event_type: str,
        payload: Mapping[str, Any],
        *,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        ts_text: str | None = None,
    ) -> int:
        """Append one event; returns its ``seq``."""
        return self.add_plain(
            ts,
            topic,
            event_type,
            _plain(payload),
            correlation_id=correlation_id,
            causation_id=causation_id,
            ts_text=ts_text,
        )

    def add_plain(
        self,
        ts: datetime,
        topic: Topic,
        event_type: str,
        payload: dict[str, Any],
        *,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        ts_text: str | None = None,
    ) -> int:
        """Append one event whose payload already holds plain JSON types only (exact decimals
        as :func:`~mqk_schemas.format_decimal` strings); returns its ``seq``. ``ts_text`` is
        ``format_utc(ts)`` when the caller has it already."""
        seq = len(self._records)
        if ts != self._ts:  # events come in bursts with one timestamp: render it once
            self._ts = ts
            self._ts_text = format_utc(ts) if ts_text is None else ts_text
        self._records.append(
            {
                "event_id": self._event_id(seq),
                "run_id": self._run,
                "engine_id": self._engine_id,
                "ts_utc": self._ts_text,
                "seq": seq,
                "topic": topic.value,
                "event_type": event_type,
                "correlation_id": correlation_id,
                "causation_id": causation_id,
                "payload": payload,
            }
        )
        return seq


def _plain(value: Any) -> Any:
    """Plain JSON types with exact decimals as strings (so a record needs no custom encoder)."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is Decimal:
        return format_decimal(value)
    if kind is dict or isinstance(value, Mapping):
        return {str(k.value if isinstance(k, Enum) else k): _plain(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [_plain(v) for v in value]
    if isinstance(value, Enum):
        return _plain(value.value)
    if isinstance(value, datetime):
        return format_utc(value)
    return _plain(_from_jsonable(jsonable(value)))


def _from_jsonable(value: Any) -> Any:
    """Turn :func:`jsonable` output (pre-rendered decimals) into plain JSON types."""
    return json.loads(json.dumps(value, default=str))
