"""The audit log's hash chain: records in, chained lines out (pure, no I/O).

A module of its own so that it compiles (``tools/compiled.py``): a run's audit log chains a
hundred thousand lines and more.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from typing import Any

from mqk_schemas.canonical import canonical_json

__all__ = ["GENESIS_HASH", "AuditChain", "audit_log_chunks"]

GENESIS_HASH = "0" * 64


class AuditChain:
    """Pure chain state: turns records into chained lines (no I/O)."""

    def __init__(self, last_hash: str = GENESIS_HASH) -> None:
        self._last_hash = last_hash

    @property
    def last_hash(self) -> str:
        """Hash of the last line produced (GENESIS_HASH before the first)."""
        return self._last_hash

    def line_for(self, record: Any) -> str:
        """Chain ``record`` and return its line (without newline)."""
        return self.line_for_json(canonical_json(record))

    def line_for_json(self, record_json: str) -> str:
        """Chain a record already serialised as canonical JSON; returns its line.

        The text must be canonical (sorted keys, no spaces, numbers as written), as produced by
        :func:`~mqk_schemas.canonical_json` or ``json.dumps(..., sort_keys=True,
        separators=(",", ":"), ensure_ascii=False)`` over plain JSON types.
        """
        return self.lines_for_jsons((record_json,))[0]

    def lines_for_jsons(self, records_json: Iterable[str]) -> list[str]:
        """:meth:`line_for_json` of each record in turn, in one call (a run's audit log chains
        a hundred thousand records and more).

        This is the one place a line's hash is computed: sha256 of the previous line's hash
        followed by the record's JSON (UTF-8)."""
        last = self._last_hash
        lines: list[str] = []
        append = lines.append
        sha256 = hashlib.sha256
        for record_json in records_json:
            digest = sha256((last + record_json).encode()).hexdigest()
            append(f'{{"hash":"{digest}","prev_hash":"{last}","record":{record_json}}}')
            last = digest
        self._last_hash = last
        return lines


def audit_log_chunks(chain: AuditChain, batches: Iterable[list[str]]) -> Iterator[bytes]:
    """The bytes of an audit log file, a batch of records (canonical JSON) at a time:
    each record's chained line and its newline (``chain`` ends at the last record)."""
    for batch in batches:
        lines = chain.lines_for_jsons(batch)
        lines.append("")  # the last line's newline
        yield "\n".join(lines).encode()
