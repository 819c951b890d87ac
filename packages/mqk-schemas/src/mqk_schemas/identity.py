"""Identifiers: engines, runs, symbols and deterministic client order ids."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable
from typing import Annotated

from pydantic import StringConstraints

__all__ = [
    "ENGINE_ID_PATTERN",
    "EngineId",
    "RunId",
    "Symbol",
    "client_order_id",
    "client_order_ids",
    "engine_of_client_order_id",
    "event_id",
    "event_id_texts",
]

ENGINE_ID_PATTERN = r"^[A-Z][A-Z0-9]{0,15}$"
_ENGINE_RE = re.compile(ENGINE_ID_PATTERN)

EngineId = Annotated[str, StringConstraints(pattern=ENGINE_ID_PATTERN)]
"""An engine token: upper-case letters and digits, starting with a letter (``MAIN``, ``EXP``)."""

RunId = uuid.UUID
"""A run identifier (UUID)."""

Symbol = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9][A-Z0-9._/\-]{0,23}$")]
"""An instrument symbol such as ``AAPL``, ``BRK.B`` or ``BTC/USD`` (upper case)."""

_NAMESPACE = uuid.UUID("5b0c6f0e-7d6a-4a44-9c1e-6d2f4f1c1a01")


def client_order_id(engine_id: str, run_id: uuid.UUID, intent_seq: int) -> str:
    """Derive the client order id of intent ``intent_seq`` of ``run_id``.

    The id is a pure function of its inputs, so a retried submit reuses it, and it starts with
    ``<ENGINE_ID>_`` so the engine's namespace can be recognised at the broker.
    """
    if not _ENGINE_RE.match(engine_id):
        raise ValueError(f"engine id {engine_id!r} is not an upper-case token")
    if intent_seq < 0:
        raise ValueError(f"intent sequence {intent_seq} must be >= 0")
    return f"{engine_id}_{run_id.hex[:12]}_{intent_seq:08d}"


def client_order_ids(engine_id: str, run_id: uuid.UUID) -> Callable[[int], str]:
    """A fast ``seq -> client_order_id(engine_id, run_id, seq)`` for one run's hot loop."""
    prefix = client_order_id(engine_id, run_id, 0)[:-8]

    def make(intent_seq: int) -> str:
        if intent_seq < 0:
            raise ValueError(f"intent sequence {intent_seq} must be >= 0")
        return f"{prefix}{intent_seq:08d}"

    return make


def engine_of_client_order_id(coid: str) -> str | None:
    """Return the engine token that prefixes ``coid``, or None if it is not in any namespace."""
    head, sep, _ = coid.partition("_")
    if not sep or not _ENGINE_RE.match(head):
        return None
    return head


def event_id(run_id: uuid.UUID, seq: int) -> uuid.UUID:
    """Deterministic event id for event ``seq`` of ``run_id`` (replays give the same ids)."""
    return uuid.uuid5(_NAMESPACE, f"{run_id}:{seq}")


def event_id_texts(run_id: uuid.UUID) -> Callable[[int], str]:
    """A fast ``seq -> str(event_id(run_id, seq))`` for one run (a hot loop records many events).

    It hashes exactly what :func:`uuid.uuid5` hashes (namespace bytes, then the name) and sets
    the same version and variant bits, reusing the hash state of the run's common prefix.
    """
    prefix = hashlib.sha1(_NAMESPACE.bytes, usedforsecurity=False)
    prefix.update(f"{run_id}:".encode())

    def text(seq: int) -> str:
        digest = prefix.copy()
        digest.update(str(seq).encode())
        raw = bytearray(digest.digest()[:16])
        raw[6] = (raw[6] & 0x0F) | 0x50
        raw[8] = (raw[8] & 0x3F) | 0x80
        h = raw.hex()
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    return text
