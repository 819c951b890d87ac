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
    "event_id_text_range",
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
    """A ``seq -> str(event_id(run_id, seq))`` for one run (the run's part of the hashed name
    is encoded once)."""
    head = _event_id_head(run_id)

    def text(seq: int) -> str:
        return _uuid5_texts(head, seq, seq + 1)[0]

    return text


def event_id_text_range(run_id: uuid.UUID, start: int, stop: int) -> list[str]:
    """``[str(event_id(run_id, seq)) for seq in range(start, stop)]``, built in bulk."""
    return _uuid5_texts(_event_id_head(run_id), start, stop)


def _event_id_head(run_id: uuid.UUID) -> bytes:
    """What :func:`uuid.uuid5` hashes before ``seq``: namespace bytes, then ``"<run_id>:"``."""
    return _NAMESPACE.bytes + f"{run_id}:".encode()


# uuid5 text from the SHA-1 hex digest: the first 16 bytes, version nibble (index 12) set to 5
# and the variant bits of byte 8 (its high nibble, index 16) set to 0b10
_VARIANT = {c: "%x" % ((int(c, 16) & 0x3) | 0x8) for c in "0123456789abcdef"}


def _uuid5_texts(head: bytes, start: int, stop: int) -> list[str]:
    """The uuid5 text of ``head + b"<seq>"`` for each seq in ``range(start, stop)``: the SHA-1
    :func:`uuid.uuid5` takes (it passes no ``usedforsecurity``), laid out as ``str(UUID)``
    in one comprehension (a run's audit log derives 10**5 ids and more)."""
    sha1, variant = hashlib.sha1, _VARIANT
    return [
        f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{variant[h[16]]}{h[17:20]}-{h[20:32]}"
        for h in [sha1(b"%b%d" % (head, seq)).hexdigest() for seq in range(start, stop)]
    ]
