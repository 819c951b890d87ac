"""Risk limits: a frozen mirror of the config section ``risk``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, ValidationError

from mqk_risk.errors import RiskLimitsError
from mqk_schemas import Action, NonNegativeDecimal, PositiveDecimal, to_decimal

__all__ = ["PdtLimits", "PdtMode", "RejectStormLimits", "RiskLimits", "load_risk_limits"]


def _whole(value: Any) -> Any:
    """Accept int or an integral exact decimal (``Decimal('300')``, ``'300'``); refuse floats."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    number = to_decimal(value)
    if number != number.to_integral_value():
        raise ValueError(f"{value!r} is not a whole number")
    return int(number)


def _fraction(value: Decimal) -> Decimal:
    if not Decimal(0) < value <= Decimal(1):
        raise ValueError(f"{value} must be a fraction in (0, 1]")
    return value


def _sticky_action(value: Action) -> Action:
    if value not in (Action.HALT_NEW, Action.FLATTEN_AND_HALT, Action.DISARM):
        raise ValueError(f"{value} must be one of HALT_NEW, FLATTEN_AND_HALT, DISARM")
    return value


def _positive_int(value: int) -> int:
    if value <= 0:
        raise ValueError(f"{value} must be > 0")
    return value


def _non_negative_int(value: int) -> int:
    if value < 0:
        raise ValueError(f"{value} must be >= 0")
    return value


Fraction = Annotated[PositiveDecimal, AfterValidator(_fraction)]
PositiveInt = Annotated[int, BeforeValidator(_whole), AfterValidator(_positive_int)]
NonNegativeInt = Annotated[int, BeforeValidator(_whole), AfterValidator(_non_negative_int)]
StickyAction = Annotated[Action, AfterValidator(_sticky_action)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PdtMode(StrEnum):
    """Pattern-day-trader protection: ``auto`` prevents the 4th day trade, ``off`` disables it."""

    AUTO = "auto"
    OFF = "off"


class RejectStormLimits(_Frozen):
    """``risk.reject_storm``: ``max_rejects`` broker rejects within ``window_seconds`` halt."""

    max_rejects: PositiveInt
    window_seconds: PositiveInt

    @property
    def window(self) -> timedelta:
        """The window as a timedelta."""
        return timedelta(seconds=self.window_seconds)


class PdtLimits(_Frozen):
    """``risk.pdt``: day trades are counted over the last ``window_sessions`` sessions."""

    mode: PdtMode
    equity_threshold: NonNegativeDecimal
    max_day_trades: NonNegativeInt
    window_sessions: PositiveInt


class RiskLimits(_Frozen):
    """The risk limits of one engine (config section ``risk``); exact decimals, floats refused.

    Fractions (``daily_loss_limit``, ``max_drawdown``) are in (0, 1]. ``max_gross_exposure`` and
    ``max_leverage`` are multiples of equity (gross exposure / equity). ``kill_switches_enabled``
    false disables the automatic sticky switches (daily loss, drawdown, reject storm, stale data,
    desync, missing stop); the order-level limits, PDT and the manual halt always apply.
    """

    kill_switches_enabled: bool
    daily_loss_limit: Fraction
    max_drawdown: Fraction
    max_position_quantity: PositiveDecimal
    max_position_notional: PositiveDecimal
    max_gross_exposure: PositiveDecimal
    max_leverage: PositiveDecimal
    allow_short: bool
    reject_storm: RejectStormLimits
    pdt: PdtLimits
    stale_data_seconds: PositiveInt
    require_protective_stop: bool
    desync_action: StickyAction

    @property
    def stale_data(self) -> timedelta:
        """``stale_data_seconds`` as a timedelta."""
        return timedelta(seconds=self.stale_data_seconds)


def load_risk_limits(section: Mapping[str, Any] | BaseModel, *, prefix: str = "risk") -> RiskLimits:
    """Validate a ``risk`` config section (a mapping or a pydantic model) into :class:`RiskLimits`.

    Raises :class:`RiskLimitsError` listing every problem with its key path (``risk.pdt.mode``).
    """
    data = section.model_dump() if isinstance(section, BaseModel) else dict(section)
    try:
        return RiskLimits.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            path = ".".join([prefix, *(str(part) for part in error["loc"])])
            message = "unknown key" if error["type"] == "extra_forbidden" else error["msg"]
            problems.append((path, message))
        raise RiskLimitsError(problems) from None
