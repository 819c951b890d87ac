"""Kill switches, the actions they take and the trading states they lead to."""

from __future__ import annotations

from enum import StrEnum

from mqk_schemas import Action

__all__ = ["DEFAULT_ACTIONS", "STICKY_SWITCHES", "KillSwitch", "TradingState"]


class KillSwitch(StrEnum):
    """Every rule whose breach the risk engine records; the reason code is ``KILL_SWITCH_<NAME>``.

    Sticky switches (state-level) stay tripped until an operator clears them; order-level ones
    refuse one order and leave the engine as it was.
    """

    # sticky, state-level
    DAILY_LOSS = "DAILY_LOSS"
    MAX_DRAWDOWN = "MAX_DRAWDOWN"
    REJECT_STORM = "REJECT_STORM"
    STALE_DATA = "STALE_DATA"
    DESYNC = "DESYNC"
    MISSING_STOP = "MISSING_STOP"
    MANUAL = "MANUAL"
    # order-level (REJECT one order)
    PDT = "PDT"
    SHORT_NOT_ALLOWED = "SHORT_NOT_ALLOWED"
    MAX_POSITION_QUANTITY = "MAX_POSITION_QUANTITY"
    MAX_POSITION_NOTIONAL = "MAX_POSITION_NOTIONAL"
    MAX_GROSS_EXPOSURE = "MAX_GROSS_EXPOSURE"
    MAX_LEVERAGE = "MAX_LEVERAGE"

    @property
    def reason_code(self) -> str:
        """``KILL_SWITCH_<NAME>``, the reason code of the decision it produces."""
        return f"KILL_SWITCH_{self.value}"

    @property
    def sticky(self) -> bool:
        """True when a breach halts the engine until an operator clears it."""
        return self in STICKY_SWITCHES


STICKY_SWITCHES = frozenset(
    {
        KillSwitch.DAILY_LOSS,
        KillSwitch.MAX_DRAWDOWN,
        KillSwitch.REJECT_STORM,
        KillSwitch.STALE_DATA,
        KillSwitch.DESYNC,
        KillSwitch.MISSING_STOP,
        KillSwitch.MANUAL,
    }
)
"""Switches that trip a sticky state (HALT_NEW, FLATTEN_AND_HALT or DISARM)."""

DEFAULT_ACTIONS: dict[KillSwitch, Action] = {
    KillSwitch.DAILY_LOSS: Action.FLATTEN_AND_HALT,
    KillSwitch.MAX_DRAWDOWN: Action.FLATTEN_AND_HALT,
    KillSwitch.REJECT_STORM: Action.HALT_NEW,
    KillSwitch.STALE_DATA: Action.HALT_NEW,
    KillSwitch.MISSING_STOP: Action.HALT_NEW,
    KillSwitch.PDT: Action.REJECT,
    KillSwitch.SHORT_NOT_ALLOWED: Action.REJECT,
    KillSwitch.MAX_POSITION_QUANTITY: Action.REJECT,
    KillSwitch.MAX_POSITION_NOTIONAL: Action.REJECT,
    KillSwitch.MAX_GROSS_EXPOSURE: Action.REJECT,
    KillSwitch.MAX_LEVERAGE: Action.REJECT,
}
"""The fixed action of each switch. DESYNC takes ``risk.desync_action`` from the limits and MANUAL
the action the operator chooses, so neither is listed."""


class TradingState(StrEnum):
    """What the engine lets through.

    - ACTIVE: every order that passes the limits.
    - REDUCING: a HALT_NEW or FLATTEN_AND_HALT switch is tripped; only orders that take risk off
      (decided from the current position, never from a flag) pass.
    - DISARMED: a DISARM switch is tripped; nothing passes, not even reducing orders, because the
      engine's picture of its own state is not trusted.
    """

    ACTIVE = "ACTIVE"
    REDUCING = "REDUCING"
    DISARMED = "DISARMED"
