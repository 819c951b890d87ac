"""mqk_risk: risk engine, kill switches and PDT (SPEC section 8).

Depends only on :mod:`mqk_schemas`. The portfolio is read through the :class:`PortfolioView`
Protocol (the ledger satisfies it structurally)::

    class PortfolioView(Protocol):
        equity: Decimal                                 # read-only property
        gross_exposure: Decimal                         # read-only property, sum |qty * mark|
        def position(self, symbol: str) -> Decimal      # signed quantity, 0 when flat
        def positions(self) -> Mapping[str, Decimal]    # signed quantity per held symbol

Calls the execution gateway and the runtime make (all timestamps timezone-aware UTC, all
numbers exact Decimals; a refusal is a Decision, exceptions are API misuse)::

    limits = load_risk_limits(config_risk_section)              # or RiskLimits(...)
    risk = RiskEngine(limits, engine_id="MAIN", session_of=calendar_session_of,
                      initial_equity=Decimal("100000"))
    # pre-trade, after the integrity-state check and before the isolation allocation check:
    decision = risk.check(intent, RiskContext(ts=now, portfolio=ledger_view, price=ref_price,
                                              pending_same_side=open_qty_same_side))
    # price: values MARKET orders (None is fine for LIMIT/STOP, valued at their own price)
    # every bar (cheap; returns () unless something trips):
    decisions = risk.on_mark(ts, equity, session=session_date, data_ts=newest_bar_close)
    report = risk.evaluate(ledger_view, ts, protective_stops=stop_cover)  # decisions + flatten
    # feeds: risk.on_fill(fill, position_before=qty_before)  (PDT day-trade book)
    #        risk.on_reject(ts, client_order_id=..., reason_code=...)  (reject storm)
    #        risk.report_desync(ts, evidence)      (reconcile says internal != broker)
    # operator: risk.halt(ts, reason=..., operator=..., action=Action.HALT_NEW)
    #           risk.clear(KillSwitch.DAILY_LOSS, ts=ts, operator="alice")
    # restart: RiskEngine.from_state(limits, risk.snapshot(), session_of=...)

Kill switches and their actions (reason code ``KILL_SWITCH_<NAME>``, evidence with exact
decimals): DAILY_LOSS and MAX_DRAWDOWN -> FLATTEN_AND_HALT; REJECT_STORM, STALE_DATA and
MISSING_STOP -> HALT_NEW; DESYNC -> ``risk.desync_action``; MANUAL -> the operator's choice;
PDT, SHORT_NOT_ALLOWED, MAX_POSITION_QUANTITY, MAX_POSITION_NOTIONAL, MAX_GROSS_EXPOSURE and
MAX_LEVERAGE -> REJECT of one order. Sticky switches move the engine to REDUCING (only
risk-reducing orders pass, decided from the current position) or, for DISARM, to DISARMED
(nothing passes) until :meth:`RiskEngine.clear`. While a FLATTEN_AND_HALT switch is tripped,
:meth:`RiskEngine.flatten_targets` / :meth:`RiskEngine.evaluate` return a zero
:class:`~mqk_schemas.TargetPosition` per open position for the caller to execute, and
:meth:`RiskEngine.flatten_intents` the same as reduce-only MARKET intents numbered from the
caller's intent sequence. Refusals while
halted carry reason code ``RISK_HALTED`` (``RISK_DISARMED``) and list the tripped switches.
"""

from mqk_risk._engine import RiskEngine
from mqk_risk._limits import (
    PdtLimits,
    PdtMode,
    RejectStormLimits,
    RiskLimits,
    load_risk_limits,
)
from mqk_risk._reduce import is_risk_reducing, signed_quantity
from mqk_risk._state import ActiveSwitch, DayTrade, OpenedPosition, RecordedReject, RiskState
from mqk_risk._switches import DEFAULT_ACTIONS, STICKY_SWITCHES, KillSwitch, TradingState
from mqk_risk._views import PortfolioView, RiskContext, RiskReport, SessionOf
from mqk_risk.errors import (
    ClockRegressionError,
    EngineMismatchError,
    RiskError,
    RiskInputError,
    RiskLimitsError,
    SwitchNotActiveError,
)

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_ACTIONS",
    "STICKY_SWITCHES",
    "ActiveSwitch",
    "ClockRegressionError",
    "DayTrade",
    "EngineMismatchError",
    "KillSwitch",
    "OpenedPosition",
    "PdtLimits",
    "PdtMode",
    "PortfolioView",
    "RecordedReject",
    "RejectStormLimits",
    "RiskContext",
    "RiskEngine",
    "RiskError",
    "RiskInputError",
    "RiskLimits",
    "RiskLimitsError",
    "RiskReport",
    "RiskState",
    "SessionOf",
    "SwitchNotActiveError",
    "TradingState",
    "__version__",
    "is_risk_reducing",
    "load_risk_limits",
    "signed_quantity",
]
