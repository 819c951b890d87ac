"""The effective config: validated settings, canonical JSON, hash and the layers applied."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mqk_config._models import (
    ArmingSettings,
    BacktestSettings,
    BrokerSettings,
    DataSettings,
    EngineSettings,
    ExecutionSettings,
    ReconcileSettings,
    RiskSettings,
    RuntimeSettings,
    Settings,
)

__all__ = ["OVERRIDES_SOURCE", "AppliedLayer", "EffectiveConfig"]

OVERRIDES_SOURCE = "<overrides>"
"""The layer name given to explicit overrides in messages."""


@dataclass(frozen=True, slots=True)
class AppliedLayer:
    """One layer that went into the effective config, in order of application."""

    kind: str
    """``default``, ``env``, ``engine``, ``risk``, ``stress`` or ``overrides``."""
    name: str
    source: str
    """The layer file, or ``<overrides>``."""


@dataclass(frozen=True, slots=True)
class EffectiveConfig:
    """A validated, immutable effective config for one engine and environment.

    ``canonical_json`` holds no secrets (loading aborts on any), so it may be stored with a run
    and written into artifacts; ``config_hash`` is its SHA-256.
    """

    settings: Settings
    canonical_json: str
    config_hash: str
    layers: tuple[AppliedLayer, ...]
    engine_id: str
    env: str
    stress: tuple[str, ...]

    @property
    def layer_files(self) -> tuple[Path, ...]:
        """The layer files applied, in order (explicit overrides are not a file)."""
        return tuple(Path(layer.source) for layer in self.layers if layer.kind != "overrides")

    @property
    def engine(self) -> EngineSettings:
        """Section ``engine``."""
        return self.settings.engine

    @property
    def broker(self) -> BrokerSettings:
        """Section ``broker``."""
        return self.settings.broker

    @property
    def data(self) -> DataSettings:
        """Section ``data``."""
        return self.settings.data

    @property
    def execution(self) -> ExecutionSettings:
        """Section ``execution``."""
        return self.settings.execution

    @property
    def risk(self) -> RiskSettings:
        """Section ``risk``."""
        return self.settings.risk

    @property
    def reconcile(self) -> ReconcileSettings:
        """Section ``reconcile``."""
        return self.settings.reconcile

    @property
    def arming(self) -> ArmingSettings:
        """Section ``arming``."""
        return self.settings.arming

    @property
    def runtime(self) -> RuntimeSettings:
        """Section ``runtime``."""
        return self.settings.runtime

    @property
    def backtest(self) -> BacktestSettings:
        """Section ``backtest``."""
        return self.settings.backtest

    def to_data(self) -> dict[str, Any]:
        """The settings as plain Python data (Decimals kept exact, enums as values)."""
        return self.settings.model_dump(mode="python")
