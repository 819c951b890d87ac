"""mqk_isolation: per-engine allocation caps, engine-scoped state and key scoping (SPEC section 9).

Depends only on :mod:`mqk_schemas`. Three parts:

Allocation caps, called by the execution gateway after the integrity-state check and
``risk_engine.check(intent, context)``::

    guard = AllocationGuard.from_settings([main_engine_section, exp_engine_section],
                                          market_buffer=Decimal("0.01"))
    decision = guard.check_allocation(intent, exposure=engine_ledger_view,
                                      account_equity=account.equity,
                                      reference_price=last_close,   # needed for MARKET orders
                                      pending_same_side=open_qty_same_side)   # default 0

    class ExposureView(Protocol):                       # the intent's engine's own ledger
        gross_exposure: Decimal                         # read-only property, sum |qty * mark|
        def position(self, symbol: str) -> Decimal      # signed quantity, 0 when flat

  The order's added exposure is valued at its worst-case price (MARKET: reference x (1 +
  market_buffer); LIMIT: limit price; STOP: stop price). Projected engine gross exposure above
  ``allocation_cap * account_equity`` -> ``Decision(REJECT, "ENGINE_CAP_EXCEEDED", evidence)``;
  exactly at the cap is allowed; orders that do not grow the position are always allowed.

Engine-scoped state: ``store = EngineStateStore(["MAIN", "EXP"])``; ``store.scope("MAIN")`` is
an :class:`EngineScope` with that engine's positions, orders, risk state and integrity state
only; another engine's order, ``client_order_id`` namespace or state object raises
:class:`CrossEngineAccessError`.

Key scoping at load: ``validate_engine_settings(engines)`` raises :class:`EngineSettingsError`
with every violation and its key path (``engines.EXP.keys_env.api_key``):
key variable names must end with ``_<ENGINE_ID>``, are never shared between engines, api_key
differs from api_secret, caps are in (0, 1] and sum to <= 1.
``engine_settings_violations(engines)`` returns the same list without raising.
"""

from mqk_isolation._caps import AllocationGuard, ExposureView, worst_case_price
from mqk_isolation._scope import EngineScope, EngineStateStore
from mqk_isolation._settings import (
    EngineSettings,
    EngineViolation,
    KeysEnv,
    allocation_cap_violations,
    engine_settings_violations,
    validate_engine_settings,
)
from mqk_isolation.errors import (
    AllocationInputError,
    CrossEngineAccessError,
    EngineSettingsError,
    IsolationError,
    UnknownEngineError,
)

__version__ = "0.1.0"

__all__ = [
    "AllocationGuard",
    "AllocationInputError",
    "CrossEngineAccessError",
    "EngineScope",
    "EngineSettings",
    "EngineSettingsError",
    "EngineStateStore",
    "EngineViolation",
    "ExposureView",
    "IsolationError",
    "KeysEnv",
    "UnknownEngineError",
    "__version__",
    "allocation_cap_violations",
    "engine_settings_violations",
    "validate_engine_settings",
    "worst_case_price",
]
