"""Execution settings: a mirror of config section ``execution``.

Field names are the config keys. Every cost is an exact Decimal (floats refused) and must be
``>= 0``: a negative spread, slippage or commission would make fills *better* than the market,
so construction refuses it with :class:`~mqk_execution.errors.ExecutionSettingsError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from mqk_execution.errors import ExecutionSettingsError
from mqk_schemas import ExactDecimal

__all__ = [
    "COST_FIELDS",
    "AmbiguityPolicy",
    "ExecutionSettings",
    "LatencyBars",
    "PartialFillSettings",
]


class AmbiguityPolicy(StrEnum):
    """Which bracket leg fills when one bar touches both a position's stop and its target.

    Only CONSERVATIVE_WORST_CASE (the stop fills) is fit for decisions; the others exist so a
    researcher can measure how much a result depends on the assumption.
    """

    CONSERVATIVE_WORST_CASE = "CONSERVATIVE_WORST_CASE"
    OPTIMISTIC = "OPTIMISTIC"
    OPEN_PROXIMITY = "OPEN_PROXIMITY"


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LatencyBars(_Strict):
    """Bars between a request made while bar t is current and its effect.

    A submit with latency k can first fill on bar t+1+k; a cancel or replace with latency k takes
    effect before bar t+1+k is processed (latency 0 cancels/replaces at once).
    """

    submit: int = Field(default=0, ge=0)
    cancel: int = Field(default=0, ge=0)
    replace: int = Field(default=0, ge=0)


class PartialFillSettings(_Strict):
    """Seeded partial fills: with ``probability`` a fill takes only a fraction of what remains,
    drawn uniformly from ``[fill_fraction_min, 1)``."""

    enabled: bool = False
    fill_fraction_min: ExactDecimal = Decimal("0.5")
    probability: ExactDecimal = Decimal(0)


COST_FIELDS = (
    "spread_bps",
    "slippage_bps",
    "slippage_volatility_multiplier",
    "slippage_cap_bps",
    "commission_per_share",
    "commission_bps",
    "commission_minimum",
)
"""The ``execution`` settings that cost money (``--no-costs`` zeroes each of them)."""


class ExecutionSettings(_Strict):
    """The SimBroker's fill model and cost settings (config section ``execution``)."""

    allow_same_bar_fills: bool = False
    spread_bps: ExactDecimal = Decimal(0)
    slippage_bps: ExactDecimal = Decimal(0)
    slippage_volatility_multiplier: ExactDecimal = Decimal(0)
    slippage_cap_bps: ExactDecimal = Decimal(0)
    commission_per_share: ExactDecimal = Decimal(0)
    commission_bps: ExactDecimal = Decimal(0)
    commission_minimum: ExactDecimal = Decimal(0)
    ambiguity_policy: AmbiguityPolicy = AmbiguityPolicy.CONSERVATIVE_WORST_CASE
    latency_bars: LatencyBars = Field(default_factory=LatencyBars)
    partial_fills: PartialFillSettings = Field(default_factory=PartialFillSettings)
    seed: int = 0

    @model_validator(mode="after")
    def _refuse_bad_values(self) -> ExecutionSettings:
        problems = [
            (f"execution.{name}", f"must be >= 0, got {getattr(self, name)}")
            for name in COST_FIELDS
            if getattr(self, name) < 0
        ]
        if self.slippage_cap_bps < self.slippage_bps:
            problems.append(
                (
                    "execution.slippage_cap_bps",
                    f"{self.slippage_cap_bps} is below slippage_bps {self.slippage_bps}",
                )
            )
        partial = self.partial_fills
        if not Decimal(0) < partial.fill_fraction_min <= Decimal(1):
            problems.append(("execution.partial_fills.fill_fraction_min", "must be in (0, 1]"))
        if not Decimal(0) <= partial.probability <= Decimal(1):
            problems.append(("execution.partial_fills.probability", "must be in [0, 1]"))
        if problems:
            raise ExecutionSettingsError(problems)
        return self

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> ExecutionSettings:
        """Validate the ``execution`` config section; every failure names its key path."""
        try:
            return cls.model_validate(dict(data))
        except ValidationError as exc:
            problems = [
                ("execution." + ".".join(str(p) for p in err["loc"]), err["msg"])
                for err in exc.errors()
            ]
            raise ExecutionSettingsError(problems) from None

    @property
    def half_spread_bps(self) -> Decimal:
        """Half of the quoted spread, paid on every market-like fill."""
        return self.spread_bps / 2
