"""The paper broker's journal: append-only, one committed row per request or bar."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, func, insert, select

from mqk_runtime._tables import PAPER_JOURNAL, ensure_runtime_tables
from mqk_schemas import canonical_json, format_utc, to_utc

__all__ = ["JournalEntry", "PaperJournal"]


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One journaled input of the paper broker."""

    seq: int
    kind: str
    ts_utc: datetime
    payload: dict[str, Any]


class PaperJournal:
    """The journal of one run's paper broker, stored in the run database.

    Each :meth:`append` is its own committed transaction: once it returns, the broker has
    received the request, whatever happens to the process next.
    """

    def __init__(self, engine: Engine, run_id: uuid.UUID) -> None:
        ensure_runtime_tables(engine)
        self._engine = engine
        self._run_id = run_id
        self._next: int | None = None

    @property
    def run_id(self) -> uuid.UUID:
        """The run whose broker this journal records."""
        return self._run_id

    def append(self, kind: str, ts_utc: datetime, payload: dict[str, Any]) -> int:
        """Commit one entry; returns its sequence number (1, 2, ...)."""
        with self._engine.begin() as connection:
            if self._next is None:
                last = connection.execute(
                    select(func.max(PAPER_JOURNAL.c.seq)).where(
                        PAPER_JOURNAL.c.run_id == self._run_id
                    )
                ).scalar_one()
                self._next = (last or 0) + 1
            seq = self._next
            connection.execute(
                insert(PAPER_JOURNAL).values(
                    run_id=self._run_id,
                    seq=seq,
                    kind=kind,
                    ts_utc=format_utc(to_utc(ts_utc)),
                    payload_json=canonical_json(payload),
                )
            )
        self._next = seq + 1
        return seq

    def entries(self) -> list[JournalEntry]:
        """Every entry of the run, in order."""
        with self._engine.connect() as connection:
            rows = connection.execute(
                select(
                    PAPER_JOURNAL.c.seq,
                    PAPER_JOURNAL.c.kind,
                    PAPER_JOURNAL.c.ts_utc,
                    PAPER_JOURNAL.c.payload_json,
                )
                .where(PAPER_JOURNAL.c.run_id == self._run_id)
                .order_by(PAPER_JOURNAL.c.seq)
            ).all()
        return [
            JournalEntry(
                seq=row.seq,
                kind=row.kind,
                ts_utc=datetime.fromisoformat(row.ts_utc.replace("Z", "+00:00")),
                payload=json.loads(row.payload_json, parse_float=Decimal),
            )
            for row in rows
        ]
