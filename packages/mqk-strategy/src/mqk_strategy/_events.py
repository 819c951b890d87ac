"""What the host records: signals handed on, and typed strategy events."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from mqk_schemas import (
    Decision,
    EventEnvelope,
    Timeframe,
    Topic,
    format_decimal,
    format_utc,
    make_event,
)
from mqk_strategy._output import StrategyOutput
from mqk_strategy._time import us_to_utc

__all__ = ["HostResult", "StrategyEvent", "StrategyEventType", "StrategySignal"]


class StrategyEventType(StrEnum):
    """Event types the host records (topic STRATEGY)."""

    TARGETS = "STRATEGY_TARGETS"
    SHADOW_INTENT = "SHADOW_INTENT"
    STRATEGY_ERROR = "STRATEGY_ERROR"
    BAR_REFUSED = "BAR_REFUSED"
    HALT_CLEARED = "STRATEGY_HALT_CLEARED"


@dataclass(frozen=True, slots=True)
class StrategySignal:
    """One strategy's output for one bar, as handed to execution (or only recorded if shadow)."""

    engine_id: str
    strategy: str
    symbol: str
    timeframe: Timeframe
    ts_close_us: int
    output: StrategyOutput
    shadow: bool

    @property
    def ts_close_utc(self) -> datetime:
        """Close time of the bar that produced the signal."""
        return us_to_utc(self.ts_close_us)

    def payload(self) -> dict[str, Any]:
        """JSON-ready description (exact decimals as strings)."""
        targets: list[dict[str, str]] = []
        for target in self.output.targets:
            item = {"symbol": target.symbol}
            if target.quantity is not None:
                item["quantity"] = format_decimal(target.quantity)
            else:
                assert target.notional is not None
                item["notional"] = format_decimal(target.notional)
            targets.append(item)
        return {
            "strategy": self.strategy,
            "symbol": self.symbol,
            "timeframe": str(self.timeframe),
            "ts_close_utc": format_utc(self.ts_close_utc),
            "shadow": self.shadow,
            "targets": targets,
            "stops": [
                {"symbol": s.symbol, "stop_price": format_decimal(s.stop_price)}
                for s in self.output.stops
            ],
        }


@dataclass(frozen=True, slots=True)
class HostResult:
    """The host's verdict on one bar: ALLOW with signals, or a refusal / halt with none."""

    decision: Decision
    signals: tuple[StrategySignal, ...] = ()


@dataclass(frozen=True, slots=True)
class StrategyEvent:
    """A typed record of something the host did; ``ts_close_us`` is the bar's close time."""

    event_type: StrategyEventType
    engine_id: str
    ts_close_us: int
    payload: dict[str, Any]
    decision: Decision | None = None

    def to_envelope(
        self,
        *,
        run_id: uuid.UUID,
        seq: int,
        correlation_id: str | None = None,
        causation_id: str | None = None,
    ) -> EventEnvelope:
        """The event as a STRATEGY envelope of ``run_id`` (time = the bar close, no clock)."""
        payload = dict(self.payload)
        if self.decision is not None:
            payload["decision"] = self.decision.model_dump(mode="json")
        return make_event(
            run_id=run_id,
            engine_id=self.engine_id,
            ts_utc=us_to_utc(self.ts_close_us),
            seq=seq,
            topic=Topic.STRATEGY,
            event_type=self.event_type,
            payload=payload,
            correlation_id=correlation_id,
            causation_id=causation_id,
        )
