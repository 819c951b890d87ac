"""The run's ordered event stream, kept compact: each payload as canonical JSON text.

Records have the shape of :class:`mqk_schemas.EventEnvelope`. A long run records hundreds of
thousands of events, so the stream keeps per event only its timestamp text, topic, type, ids and
the canonical JSON of its payload; the event id and run id are derived. :class:`EventLog` gives
the records back as plain dicts on access and as canonical JSON lines for the audit log.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, overload

from mqk_backtest._payload_json import payload_json
from mqk_backtest._plain_json import _plain
from mqk_schemas import (
    AuditSpool,
    EnvelopeEntry,
    Topic,
    envelope_lines,
    format_utc,
    json_text,
)

__all__ = ["EventLog", "EventStream", "json_text", "record_json"]

_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def record_json(record: Mapping[str, Any]) -> str:
    """Canonical JSON text of one record (sorted keys, no spaces)."""
    return _CANONICAL.encode(record)


class EventLog(Sequence[dict[str, Any]]):
    """A run's events: a sequence of envelope-shaped dicts, decoded on access, and
    :meth:`lines`, their canonical JSON (exactly :func:`record_json` of each dict)."""

    __slots__ = ("_engine_id", "_entries", "_run_id")

    def __init__(self, run_id: uuid.UUID, engine_id: str, entries: list[EnvelopeEntry]) -> None:
        self._run_id = run_id
        self._engine_id = engine_id
        self._entries = entries

    def __len__(self) -> int:
        return len(self._entries)

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            return [json.loads(line) for line in self._lines(range(len(self))[index])]
        seq = range(len(self))[index]
        return json.loads(next(self._lines((seq,))))  # type: ignore[no-any-return]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for line in self.lines():
            yield json.loads(line)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, EventLog):
            return (self._run_id, self._engine_id, self._entries) == (
                other._run_id,
                other._engine_id,
                other._entries,
            )
        if isinstance(other, Sequence):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def lines(self) -> Iterator[str]:
        """Every record's canonical JSON, in order."""
        for batch in self.line_batches():
            yield from batch

    def line_batches(self, size: int = 2048) -> Iterator[list[str]]:
        """:meth:`lines` in lists of at most ``size`` (event ids are made a list at a time)."""
        total = len(self._entries)
        for start in range(0, total, size):
            yield self._line_list(start, min(start + size, total))

    def _lines(self, seqs: Iterator[int] | Sequence[int]) -> Iterator[str]:
        for seq in seqs:
            yield self._line_list(seq, seq + 1)[0]

    def _line_list(self, start: int, stop: int) -> list[str]:
        """The canonical JSON of records ``start`` to ``stop`` (exclusive)."""
        return envelope_lines(self._run_id, self._engine_id, self._entries[start:stop], start)


SPOOL_BATCH = 4096
"""Events handed to an :class:`~mqk_schemas.AuditSpool` at once."""


class EventStream:
    """Appends envelope-shaped events with consecutive ``seq`` numbers (and, given an
    :class:`~mqk_schemas.AuditSpool`, hands them to it a batch at a time)."""

    def __init__(self, run_id: uuid.UUID, engine_id: str) -> None:
        self._run_id = run_id
        self._engine_id = engine_id
        self._entries: list[EnvelopeEntry] = []
        self._ts: datetime | None = None
        self._ts_text = ""
        self._spool: AuditSpool | None = None
        self._spooled = 0  # events handed to the spool so far

    def spool_to(self, spool: AuditSpool) -> None:
        """Hand every event, those recorded so far and all to come, to ``spool``."""
        self._spool = spool
        self._spooled = 0
        self._send_to_spool(spool)

    def close_spool(self) -> AuditSpool | None:
        """Hand the spool the last events and close its input (its helper finishes in the
        background: :meth:`~mqk_schemas.AuditSpool.finish` waits); None without a spool."""
        spool, self._spool = self._spool, None
        if spool is None:
            return None
        self._send_to_spool(spool)
        spool.close_input()
        return spool

    def abort_spool(self) -> None:
        """Stop the spool, if any, and throw its file away (the run failed or is redone)."""
        spool, self._spool = self._spool, None
        if spool is not None:
            spool.abort()

    def _send_to_spool(self, spool: AuditSpool) -> None:
        total = len(self._entries)
        if total > self._spooled:
            spool.send(self._entries[self._spooled : total])
            self._spooled = total

    @property
    def records(self) -> EventLog:
        """Every event so far, in order."""
        return EventLog(self._run_id, self._engine_id, self._entries)

    def __len__(self) -> int:
        return len(self._entries)

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
        text = payload_json(payload)
        return self.add_json(
            ts,
            topic,
            event_type,
            _CANONICAL.encode(_plain(payload)) if text is None else text,
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
        return self.add_json(
            ts,
            topic,
            event_type,
            _CANONICAL.encode(payload),
            correlation_id=correlation_id,
            causation_id=causation_id,
            ts_text=ts_text,
        )

    def add_json(
        self,
        ts: datetime,
        topic: Topic,
        event_type: str,
        payload_json: str,
        *,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        ts_text: str | None = None,
    ) -> int:
        """Append one event whose payload is given as its canonical JSON text (sorted keys,
        no spaces, exact decimals as strings: what :func:`record_json` makes of it); hot loops
        render fixed-shape payloads directly. Returns the event's ``seq``."""
        if ts != self._ts:  # events come in bursts with one timestamp: render it once
            self._ts = ts
            self._ts_text = format_utc(ts) if ts_text is None else ts_text
        entries = self._entries
        # a Topic is a str (StrEnum): kept as is, it reads and renders as its value
        entries.append(
            (self._ts_text, topic, event_type, correlation_id, causation_id, payload_json)
        )
        total = len(entries)
        spool = self._spool
        if spool is not None and total - self._spooled >= SPOOL_BATCH:
            self._send_to_spool(spool)
        return total - 1
