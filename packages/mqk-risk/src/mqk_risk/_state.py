"""Records of the risk engine's state: tripped switches, day trades and the full snapshot."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict

from mqk_risk._switches import KillSwitch
from mqk_schemas import Action, Decision, EngineId, ExactDecimal, Symbol, UtcDatetime

__all__ = ["ActiveSwitch", "DayTrade", "OpenedPosition", "RecordedReject", "RiskState"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ActiveSwitch(_Frozen):
    """A tripped sticky kill switch: its action, when it tripped and the decision recorded then."""

    switch: KillSwitch
    action: Action
    since: UtcDatetime
    decision: Decision


class DayTrade(_Frozen):
    """One completed day trade: ``symbol`` opened at ``opened_at`` and closed at ``closed_at``,
    both within trading session ``session``."""

    symbol: Symbol
    session: date
    opened_at: UtcDatetime
    closed_at: UtcDatetime


class OpenedPosition(_Frozen):
    """A position opened (or added to) in ``session`` and not yet closed in that session."""

    symbol: Symbol
    session: date
    opened_at: UtcDatetime


class RecordedReject(_Frozen):
    """A broker reject counted by the reject-storm window."""

    ts: UtcDatetime
    client_order_id: str | None = None
    reason_code: str | None = None


class RiskState(_Frozen):
    """Everything a :class:`~mqk_risk.RiskEngine` needs to resume exactly where it stopped.

    Store it per engine (e.g. in an ``mqk_isolation`` engine scope) and hand it to
    ``RiskEngine.from_state``; tripped switches survive a restart.
    """

    engine_id: EngineId
    session: date | None
    last_ts: UtcDatetime | None
    day_start_equity: ExactDecimal | None
    peak_equity: ExactDecimal | None
    last_equity: ExactDecimal | None
    active: tuple[ActiveSwitch, ...]
    rejects: tuple[RecordedReject, ...]
    sessions: tuple[date, ...]
    opened: tuple[OpenedPosition, ...]
    day_trades: tuple[DayTrade, ...]
