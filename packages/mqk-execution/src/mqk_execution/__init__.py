"""mqk_execution: order intents, OMS, execution gateway, broker protocol and SimBroker.

Flow: a strategy returns targets -> :func:`targets_to_intents` (signed deltas from the ledger,
sorted by symbol, deterministic client order ids) -> :meth:`ExecutionGateway.submit`, which
checks ARMED -> INTEGRITY -> RISK -> ALLOCATION and only then calls the broker it holds
privately -> the broker (e.g. :class:`SimBroker`, bar-driven) reports order changes and fills
back to the gateway's OMS, which forwards new fills to ``on_fill`` (the ledger).

Dependencies are small Protocols defined here (:class:`PositionView`, :class:`IntegrityView`,
:class:`RiskCheck`, :class:`AllocationCheck`), so the ledger, risk engine, isolation and
integrity gate plug in structurally or through a thin adapter (:class:`RiskEngineCheck` for
:class:`mqk_risk.RiskEngine`, :class:`AllocationGuardCheck` for
:class:`mqk_isolation.AllocationGuard`; the :class:`mqk_portfolio.EngineLedger` is a
:class:`PositionView` as it is).
"""

from mqk_execution._adapters import AllocationGuardCheck, RiskEngineCheck
from mqk_execution._arming import NOT_ARMED, ArmAuthority, ArmToken, ArmVerifier
from mqk_execution._broker import (
    Bracket,
    BrokerAdapter,
    BrokerCapability,
    BrokerListener,
    BrokerUpdate,
)
from mqk_execution._checks import blocks, first_refusal, is_reducing, refusal_record
from mqk_execution._desk import AuditFn, OrderDesk, RefusalFn, Stops
from mqk_execution._events import EventSink, ExecutionEvent, GateCheck, SubmitResult
from mqk_execution._fillmodel import CENT, CostModel, base_price, round_to_tick
from mqk_execution._gateway import ExecutionGateway
from mqk_execution._intents import IntentPlan, targets_to_intents
from mqk_execution._oms import LEGAL_TRANSITIONS, OrderManager, check_transition
from mqk_execution._protocols import (
    AllocationCheck,
    BarLike,
    Clock,
    IntegrityView,
    PositionView,
    PreTradeContext,
    RiskCheck,
)
from mqk_execution._settings import (
    COST_FIELDS,
    AmbiguityPolicy,
    ExecutionSettings,
    LatencyBars,
    PartialFillSettings,
)
from mqk_execution._simbroker import SimBroker
from mqk_execution.errors import (
    ArmingError,
    BrokerAccessError,
    ExecutionError,
    ExecutionSettingsError,
    FillMismatchError,
    IllegalOrderTransition,
    IntentError,
    OrderStateError,
    OverfillError,
    UnknownOrderError,
)

__version__ = "0.1.0"

__all__ = [
    "CENT",
    "COST_FIELDS",
    "LEGAL_TRANSITIONS",
    "NOT_ARMED",
    "AllocationCheck",
    "AllocationGuardCheck",
    "AmbiguityPolicy",
    "ArmAuthority",
    "ArmToken",
    "ArmVerifier",
    "ArmingError",
    "AuditFn",
    "BarLike",
    "Bracket",
    "BrokerAccessError",
    "BrokerAdapter",
    "BrokerCapability",
    "BrokerListener",
    "BrokerUpdate",
    "Clock",
    "CostModel",
    "EventSink",
    "ExecutionError",
    "ExecutionEvent",
    "ExecutionGateway",
    "ExecutionSettings",
    "ExecutionSettingsError",
    "FillMismatchError",
    "GateCheck",
    "IllegalOrderTransition",
    "IntegrityView",
    "IntentError",
    "IntentPlan",
    "LatencyBars",
    "OrderDesk",
    "OrderManager",
    "OrderStateError",
    "OverfillError",
    "PartialFillSettings",
    "PositionView",
    "PreTradeContext",
    "RefusalFn",
    "RiskCheck",
    "RiskEngineCheck",
    "SimBroker",
    "Stops",
    "SubmitResult",
    "UnknownOrderError",
    "base_price",
    "blocks",
    "check_transition",
    "first_refusal",
    "is_reducing",
    "refusal_record",
    "round_to_tick",
    "targets_to_intents",
]
