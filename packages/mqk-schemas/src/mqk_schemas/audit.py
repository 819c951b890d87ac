"""Hash-chained audit log (JSON lines).

Every line is the canonical JSON object ``{"hash", "prev_hash", "record"}`` where
``hash = sha256(prev_hash + canonical_json(record))`` and the first line's ``prev_hash`` is
:data:`GENESIS_HASH`. Changing, dropping, inserting or reordering any line breaks the chain
from that line on, and :func:`verify_audit_lines` names the first broken line (1-based).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from mqk_schemas._chain import GENESIS_HASH, AuditChain
from mqk_schemas.errors import AuditChainError

__all__ = [
    "GENESIS_HASH",
    "AuditChain",
    "AuditLogWriter",
    "AuditVerification",
    "verify_audit_file",
    "verify_audit_lines",
]


class AuditLogWriter:
    """Appends chained records to a JSON-lines stream, resuming from an existing chain."""

    def __init__(self, stream: TextIO, last_hash: str = GENESIS_HASH) -> None:
        self._stream = stream
        self._chain = AuditChain(last_hash)

    @classmethod
    def open(cls, path: Path) -> AuditLogWriter:
        """Open ``path`` for appending; an existing file must verify and is continued."""
        last = GENESIS_HASH
        if path.exists():
            result = verify_audit_file(path)
            if not result.ok:
                raise AuditChainError(f"{path}: {result.describe()}; refusing to append")
            last = result.last_hash
        return cls(path.open("a", encoding="utf-8", newline="\n"), last)

    @property
    def last_hash(self) -> str:
        """Hash of the last line written."""
        return self._chain.last_hash

    def append(self, record: Any) -> str:
        """Write one record; returns its hash."""
        self._stream.write(self._chain.line_for(record) + "\n")
        return self._chain.last_hash

    def flush(self) -> None:
        """Flush the underlying stream."""
        self._stream.flush()

    def close(self) -> None:
        """Close the underlying stream."""
        self._stream.close()


@dataclass(frozen=True, slots=True)
class AuditVerification:
    """Outcome of verifying a chain."""

    ok: bool
    lines: int
    last_hash: str
    first_broken_line: int | None = None
    reason: str = ""

    def describe(self) -> str:
        """One sentence for an operator."""
        if self.ok:
            return f"audit chain intact ({self.lines} lines)"
        return f"audit chain broken at line {self.first_broken_line}: {self.reason}"


def verify_audit_lines(lines: Iterable[str]) -> AuditVerification:
    """Verify a chain; stops at the first broken line."""
    prev = GENESIS_HASH
    count = 0
    for number, raw_line in enumerate(lines, start=1):
        count = number
        raw = raw_line.rstrip("\n")
        written = _as_written(raw, prev)
        if written is not None:  # the line AuditChain writes for its canonical record
            prev = written
            continue
        if not raw:
            return AuditVerification(False, number - 1, prev, number, "empty line")
        try:
            obj = json.loads(raw, parse_float=_keep_text, parse_int=_keep_text)
        except json.JSONDecodeError as exc:
            return AuditVerification(False, number - 1, prev, number, f"not JSON ({exc.msg})")
        if not isinstance(obj, dict) or set(obj) != {"hash", "prev_hash", "record"}:
            return AuditVerification(
                False, number - 1, prev, number, "expected keys hash, prev_hash, record"
            )
        if obj["prev_hash"] != prev:
            return AuditVerification(
                False, number - 1, prev, number, "prev_hash does not match the previous line"
            )
        chain = AuditChain(prev)
        chain.line_for_json(_reencode(obj["record"]))
        if chain.last_hash != obj["hash"]:
            return AuditVerification(
                False, number - 1, prev, number, "hash does not match the record (tampered)"
            )
        prev = obj["hash"]
    return AuditVerification(True, count, prev)


_RECORD_AT = len('{"hash":"') + 64 + len('","prev_hash":"') + 64 + len('","record":')
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _as_written(raw: str, prev: str) -> str | None:
    """The hash of ``raw`` when it is exactly the line :class:`AuditChain` writes after
    ``prev`` for a record in canonical JSON, else None (then the line is checked field by
    field, which names what is wrong). A written line needs no re-encoding of its record
    value by value: a run's log has a hundred thousand lines and more."""
    record = raw[_RECORD_AT:-1]
    if not record:
        return None
    try:
        canonical = _CANONICAL.encode(json.loads(record)) == record
    except ValueError:  # not JSON, or a number JSON cannot hold as written: checked in full
        return None
    if not canonical or AuditChain(prev).line_for_json(record) != raw:
        return None
    return raw[9:73]


def verify_audit_file(path: Path) -> AuditVerification:
    """Verify the chain stored in ``path``."""
    with path.open(encoding="utf-8") as handle:
        return verify_audit_lines(handle)


class _Number(str):
    pass


def _keep_text(text: str) -> _Number:
    return _Number(text)


def _reencode(value: Any) -> str:
    """Re-encode a parsed record canonically, keeping numbers' text as written."""
    if isinstance(value, _Number):
        return str(value)
    if isinstance(value, dict):
        inner = ",".join(
            f"{json.dumps(k, ensure_ascii=False)}:{_reencode(value[k])}" for k in sorted(value)
        )
        return "{" + inner + "}"
    if isinstance(value, list):
        return "[" + ",".join(_reencode(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)
