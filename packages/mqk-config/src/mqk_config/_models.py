"""The typed, frozen schema of the effective config.

No field has a default: ``config/default.yaml`` is the complete list of settings, so every
value in force is visible in a file. Unknown keys are refused. Money, prices and fractions are
exact Decimals (floats refused); counts and seconds are strict integers.
"""

from __future__ import annotations

import string
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
)

from mqk_schemas import (
    Action,
    EngineId,
    ExactDecimal,
    NonNegativeDecimal,
    PositiveDecimal,
    Timeframe,
    format_decimal,
)

__all__ = [
    "AmbiguityPolicy",
    "ArmingSettings",
    "BacktestSettings",
    "BrokerSettings",
    "DataSettings",
    "EngineSettings",
    "ExecutionSettings",
    "KeysEnv",
    "LatencyBars",
    "OutlierPolicy",
    "PartialFills",
    "PdtMode",
    "PdtSettings",
    "ReconcileSettings",
    "RejectStorm",
    "RiskSettings",
    "RuntimeSettings",
    "Settings",
    "StrategySpec",
]


class OutlierPolicy(StrEnum):
    """What the integrity gate does with an outlier move."""

    FLAG = "FLAG"
    REJECT = "REJECT"
    HALT_NEW = "HALT_NEW"


class AmbiguityPolicy(StrEnum):
    """Which of stop and target fills when one bar touches both (only the first is for trading)."""

    CONSERVATIVE_WORST_CASE = "CONSERVATIVE_WORST_CASE"
    OPTIMISTIC = "OPTIMISTIC"
    OPEN_PROXIMITY = "OPEN_PROXIMITY"


class PdtMode(StrEnum):
    """Pattern-day-trader rule: ``auto`` prevents the 4th day trade under the threshold."""

    AUTO = "auto"
    OFF = "off"


def _unit_fraction(value: Decimal) -> Decimal:
    if not Decimal(0) < value <= Decimal(1):
        raise ValueError(f"{format_decimal(value)} must be in (0, 1]")
    return value


def _probability(value: Decimal) -> Decimal:
    if not Decimal(0) <= value <= Decimal(1):
        raise ValueError(f"{format_decimal(value)} must be in [0, 1]")
    return value


def _rate(value: Decimal) -> Decimal:
    if not Decimal(-1) < value < Decimal(1):
        raise ValueError(f"{format_decimal(value)} must be in (-1, 1)")
    return value


UnitFraction = Annotated[ExactDecimal, AfterValidator(_unit_fraction)]
"""An exact fraction in (0, 1]."""
Probability = Annotated[ExactDecimal, AfterValidator(_probability)]
"""An exact probability in [0, 1]."""
Rate = Annotated[ExactDecimal, AfterValidator(_rate)]
"""An exact annual rate in (-1, 1)."""
PositiveInt = Annotated[StrictInt, Field(ge=1)]
NonNegativeInt = Annotated[StrictInt, Field(ge=0)]
Token = Annotated[str, StringConstraints(strict=True, pattern=r"^[a-z][a-z0-9_]{0,63}$")]
EnvVarName = Annotated[str, StringConstraints(strict=True, pattern=r"^[A-Z][A-Z0-9_]{0,127}$")]


def _exact_param(value: Any, path: str) -> Any:
    if value is None or isinstance(value, str | bool | int | Decimal):
        return value
    if isinstance(value, list | tuple):
        return [_exact_param(item, f"{path}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, dict):
        return {str(k): _exact_param(v, f"{path}.{k}") for k, v in value.items()}
    raise ValueError(f"{path}: {type(value).__name__} is not an exact config value")


def _exact_params(value: dict[str, Any]) -> dict[str, Any]:
    return {key: _exact_param(item, key) for key, item in value.items()}


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)


class StrategySpec(_Section):
    """One strategy of an engine: its registered name and its parameters (checked by it)."""

    name: Token
    params: Annotated[dict[str, Any], AfterValidator(_exact_params)]


class KeysEnv(_Section):
    """NAMES of the environment variables holding the broker keys (never the keys)."""

    api_key: EnvVarName
    api_secret: EnvVarName


class EngineSettings(_Section):
    """Section ``engine``: identity, strategy, timeframe, risk profile and allocation cap."""

    engine_id: EngineId
    timeframe: Timeframe
    strategies: Annotated[tuple[StrategySpec, ...], Field(min_length=1)]
    max_strategies: PositiveInt
    max_timeframes: PositiveInt
    shadow: StrictBool
    risk_profile: Token
    allocation_cap: UnitFraction
    keys_env: KeysEnv


class BrokerSettings(_Section):
    """Section ``broker``: which broker, which account, starting cash."""

    name: Token
    account_id: Annotated[
        str, StringConstraints(strict=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9\-]{3,63}$")
    ]
    starting_cash: PositiveDecimal
    currency: Annotated[str, StringConstraints(strict=True, pattern=r"^[A-Z]{3}$")]

    @property
    def last4(self) -> str:
        """Last four characters of the account id (typed in the LIVE arming phrase)."""
        return self.account_id[-4:]


class DataSettings(_Section):
    """Section ``data``: calendar and the integrity gate's thresholds."""

    calendar: Annotated[str, StringConstraints(strict=True, pattern=r"^(24/7|[A-Z][A-Z0-9]{2,7})$")]
    gap_tolerance_bars: NonNegativeInt
    stale_feed_seconds: PositiveInt
    feed_disagreement_bps: NonNegativeDecimal
    outlier_move_fraction: UnitFraction
    outlier_policy: OutlierPolicy


class LatencyBars(_Section):
    """Bars between a request and its effect at the simulated broker."""

    submit: NonNegativeInt
    cancel: NonNegativeInt
    replace: NonNegativeInt


class PartialFills(_Section):
    """Seeded partial fills (stress)."""

    enabled: StrictBool
    fill_fraction_min: UnitFraction
    probability: Probability


class ExecutionSettings(_Section):
    """Section ``execution``: the simulated broker's fill and cost model."""

    allow_same_bar_fills: StrictBool
    spread_bps: NonNegativeDecimal
    slippage_bps: NonNegativeDecimal
    slippage_volatility_multiplier: NonNegativeDecimal
    slippage_cap_bps: NonNegativeDecimal
    commission_per_share: NonNegativeDecimal
    commission_bps: NonNegativeDecimal
    commission_minimum: NonNegativeDecimal
    ambiguity_policy: AmbiguityPolicy
    latency_bars: LatencyBars
    partial_fills: PartialFills
    seed: NonNegativeInt


class RejectStorm(_Section):
    """N broker rejects within a window halt new orders."""

    max_rejects: PositiveInt
    window_seconds: PositiveInt


class PdtSettings(_Section):
    """Pattern-day-trader rule."""

    mode: PdtMode
    equity_threshold: NonNegativeDecimal
    max_day_trades: NonNegativeInt
    window_sessions: PositiveInt


def _halting_action(value: Action) -> Action:
    if value.severity < Action.HALT_NEW.severity:
        raise ValueError(
            f"{value.value} does not stop trading; use HALT_NEW, FLATTEN_AND_HALT or DISARM"
        )
    return value


class RiskSettings(_Section):
    """Section ``risk``: limits and kill switches."""

    kill_switches_enabled: StrictBool
    daily_loss_limit: UnitFraction
    max_drawdown: UnitFraction
    max_position_quantity: PositiveDecimal
    max_position_notional: PositiveDecimal
    max_gross_exposure: PositiveDecimal
    max_leverage: PositiveDecimal
    allow_short: StrictBool
    reject_storm: RejectStorm
    pdt: PdtSettings
    stale_data_seconds: PositiveInt
    require_protective_stop: StrictBool
    desync_action: Annotated[Action, AfterValidator(_halting_action)]


class ReconcileSettings(_Section):
    """Section ``reconcile``: how fresh a CLEAN reconcile must be, how often to run it."""

    freshness_seconds: PositiveInt
    interval_bars: PositiveInt


_PHRASE_FIELDS = frozenset({"last4", "daily_loss_limit"})


def _phrase_template(value: str) -> str:
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
    except ValueError as exc:
        raise ValueError(f"not a valid template ({exc})") from None
    if fields != _PHRASE_FIELDS:
        raise ValueError("must use exactly the placeholders {last4} and {daily_loss_limit}")
    return value


class ArmingSettings(_Section):
    """Section ``arming``: the typed confirmation required to arm a LIVE run."""

    require_phrase: StrictBool
    phrase_template: Annotated[
        str, StringConstraints(strict=True, min_length=1), AfterValidator(_phrase_template)
    ]


class RuntimeSettings(_Section):
    """Section ``runtime``: heartbeat cadence and the deadman threshold."""

    heartbeat_interval_seconds: PositiveInt
    heartbeat_stale_seconds: PositiveInt


class BacktestSettings(_Section):
    """Section ``backtest``: seed and metric conventions."""

    seed: NonNegativeInt
    risk_free_rate: Rate
    periods_per_year: PositiveInt


class Settings(_Section):
    """The whole validated effective config (all sections)."""

    engine: EngineSettings
    broker: BrokerSettings
    data: DataSettings
    execution: ExecutionSettings
    risk: RiskSettings
    reconcile: ReconcileSettings
    arming: ArmingSettings
    runtime: RuntimeSettings
    backtest: BacktestSettings

    def arming_phrase(self) -> str:
        """The exact phrase an operator types to arm LIVE, e.g. ``ARM LIVE 1234 0.02``."""
        return self.arming.phrase_template.format(
            last4=self.broker.last4, daily_loss_limit=format_decimal(self.risk.daily_loss_limit)
        )
