"""Repair actions: data the caller executes and records, only ever for orders provably ours.

A repair never touches an order outside the engine's ``client_order_id`` namespace: the models
themselves refuse a target (or a replaced order) whose prefix is not the engine's.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Set
from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from mqk_reconcile._base import Frozen
from mqk_reconcile._diff import DiffKind
from mqk_schemas import (
    EngineId,
    EventEnvelope,
    PositiveDecimal,
    Side,
    Symbol,
    TimeInForce,
    Topic,
    engine_of_client_order_id,
    make_event,
)

__all__ = [
    "CancelOrder",
    "PlaceProtectiveStop",
    "RepairAction",
    "replacement_client_order_id",
]

_MAX_COID = 64
_SUFFIX = re.compile(r"_R(\d+)$")


def _require_ours(engine_id: str, coid: str, what: str) -> None:
    if engine_of_client_order_id(coid) != engine_id:
        raise ValueError(
            f"{what} {coid!r} is outside engine {engine_id}'s namespace; only orders provably "
            "ours may be repaired"
        )


class _Repair(Frozen):
    EVENT_TYPE: ClassVar[str]

    engine_id: EngineId
    client_order_id: str = Field(min_length=3, max_length=_MAX_COID)
    symbol: Symbol
    reason: DiffKind

    @model_validator(mode="after")
    def _target_is_ours(self) -> _Repair:
        _require_ours(self.engine_id, self.client_order_id, "repair target")
        return self

    def summary(self) -> dict[str, Any]:
        """Plain JSON-able dict of this repair (Decimals as exact strings)."""
        return self.model_dump(mode="json")

    def to_event(
        self,
        *,
        run_id: uuid.UUID,
        seq: int,
        ts_utc: datetime,
        correlation_id: str | None = None,
        causation_id: str | None = None,
    ) -> EventEnvelope:
        """The RECON event recording this repair, for the caller to execute and audit."""
        return make_event(
            run_id=run_id,
            engine_id=self.engine_id,
            ts_utc=ts_utc,
            seq=seq,
            topic=Topic.RECON,
            event_type=self.EVENT_TYPE,
            payload=self.summary(),
            correlation_id=correlation_id,
            causation_id=causation_id,
        )


class CancelOrder(_Repair):
    """Cancel an order the broker holds in our namespace that the OMS does not know."""

    EVENT_TYPE: ClassVar[str] = "RECON_REPAIR_CANCEL_ORDER"

    kind: Literal["CANCEL_ORDER"] = "CANCEL_ORDER"
    broker_order_id: str | None = None


class PlaceProtectiveStop(_Repair):
    """Re-place a protective stop the broker no longer rests, under a new deterministic id.

    ``client_order_id`` is the new order's id (see :func:`replacement_client_order_id`);
    ``replaces`` is the internal stop it stands in for.
    """

    EVENT_TYPE: ClassVar[str] = "RECON_REPAIR_PLACE_PROTECTIVE_STOP"

    kind: Literal["PLACE_PROTECTIVE_STOP"] = "PLACE_PROTECTIVE_STOP"
    side: Side
    quantity: PositiveDecimal
    stop_price: PositiveDecimal
    time_in_force: TimeInForce
    replaces: str

    @model_validator(mode="after")
    def _replaced_is_ours(self) -> PlaceProtectiveStop:
        _require_ours(self.engine_id, self.replaces, "replaced stop")
        return self


RepairAction = CancelOrder | PlaceProtectiveStop
"""Every repair the reconciler can propose."""


def replacement_client_order_id(original: str, taken: Set[str]) -> str | None:
    """Deterministic id for the re-placement of ``original``: ``<base>_R<k>``.

    ``base`` is ``original`` without any ``_R<k>`` suffix; ``k`` starts one above the original's
    own suffix (or at 1) and skips every id in ``taken`` (ids the broker or the OMS already use),
    so the same inputs always give the same id and a re-placed stop that vanishes again gets
    ``_R2``, ``_R3``... Returns None when the id would exceed 64 characters.
    """
    match = _SUFFIX.search(original)
    base = original[: match.start()] if match else original
    k = int(match.group(1)) + 1 if match else 1
    while True:
        candidate = f"{base}_R{k}"
        if len(candidate) > _MAX_COID:
            return None
        if candidate not in taken:
            return candidate
        k += 1
