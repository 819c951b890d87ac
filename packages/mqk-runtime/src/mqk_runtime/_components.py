"""Everything a run needs from its effective config, built once and checked up front."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from mqk_config import EffectiveConfig
from mqk_db import ArmingInputs
from mqk_execution import ExecutionError, ExecutionSettings
from mqk_integrity import IntegrityError, IntegritySettings, SessionGrid
from mqk_isolation import AllocationGuard, IsolationError
from mqk_reconcile import ReconcileConfig
from mqk_risk import RiskError, RiskLimits, load_risk_limits
from mqk_runtime.errors import RuntimeInputError
from mqk_schemas import Timeframe, to_utc
from mqk_strategy import StrategyHost, StrategyPackageError, StrategyRegistry

__all__ = ["EngineComponents", "arming_inputs", "session_of"]

_BPS = Decimal(10_000)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def arming_inputs(config: EffectiveConfig) -> ArmingInputs:
    """What the lifecycle preflight needs from the config (the values ``run arm`` uses too)."""
    risk = config.risk
    return ArmingInputs(
        config_hash=config.config_hash,
        account_id=config.broker.account_id,
        daily_loss_limit=risk.daily_loss_limit,
        kill_switches_enabled=risk.kill_switches_enabled,
        reconcile_freshness=timedelta(seconds=config.reconcile.freshness_seconds),
        risk_limits={
            "risk.max_drawdown": risk.max_drawdown,
            "risk.max_position_quantity": risk.max_position_quantity,
            "risk.max_position_notional": risk.max_position_notional,
            "risk.max_gross_exposure": risk.max_gross_exposure,
            "risk.max_leverage": risk.max_leverage,
        },
        phrase_template=config.settings.arming.phrase_template,
    )


def session_of(grid: SessionGrid) -> Callable[[datetime], date]:
    """The trading session a UTC time belongs to (the session of the next grid close)."""

    def lookup(ts: datetime) -> date:
        pos, _ = grid.locate_one((to_utc(ts) - _EPOCH) // _MICROSECOND)
        return grid.session_at(min(pos, grid.closes.size - 1))

    return lookup


@dataclass(frozen=True, slots=True)
class EngineComponents:
    """Typed settings of every package the loop drives, derived from one effective config."""

    engine_id: str
    timeframe: Timeframe
    execution: ExecutionSettings
    integrity: IntegritySettings
    risk_limits: RiskLimits
    reconcile: ReconcileConfig
    allocation: AllocationGuard
    arming: ArmingInputs
    interval_bars: int
    reconcile_freshness: timedelta
    account_id: str
    starting_cash: Decimal
    currency: str
    shadow: bool
    engine_section: dict[str, Any]

    @classmethod
    def from_config(cls, config: EffectiveConfig) -> EngineComponents:
        """Build and validate every component setting; problems name the config key."""
        settings = config.settings
        try:
            execution = ExecutionSettings.from_mapping(settings.execution.model_dump())
            integrity = IntegritySettings.model_validate(settings.data.model_dump())
            limits = load_risk_limits(settings.risk)
            buffer = (execution.half_spread_bps + execution.slippage_cap_bps) / _BPS
            allocation = AllocationGuard(
                {config.engine_id: settings.engine.allocation_cap}, market_buffer=buffer
            )
        except (ExecutionError, RiskError, IsolationError, IntegrityError, ValueError) as exc:
            raise RuntimeInputError(f"config of engine {config.engine_id}: {exc}") from exc
        return cls(
            engine_id=config.engine_id,
            timeframe=settings.engine.timeframe,
            execution=execution,
            integrity=integrity,
            risk_limits=limits,
            reconcile=ReconcileConfig(
                require_protective_stop=settings.risk.require_protective_stop
            ),
            allocation=allocation,
            arming=arming_inputs(config),
            interval_bars=settings.reconcile.interval_bars,
            reconcile_freshness=timedelta(seconds=settings.reconcile.freshness_seconds),
            account_id=settings.broker.account_id,
            starting_cash=settings.broker.starting_cash,
            currency=settings.broker.currency,
            shadow=settings.engine.shadow,
            engine_section=settings.engine.model_dump(mode="python"),
        )

    def strategy_host(self, registry: StrategyRegistry) -> StrategyHost:
        """A fresh strategy host for the engine (strategies, timeframe, shadow from config)."""
        try:
            return StrategyHost.from_engine_config(self.engine_section, registry=registry)
        except StrategyPackageError as exc:
            raise RuntimeInputError(f"engine {self.engine_id}: {exc}") from exc
