"""Settings of the integrity gate: a mirror of the config section ``data``."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

from mqk_schemas import NonNegativeDecimal, PositiveDecimal

__all__ = ["IntegritySettings", "OutlierPolicy"]


class OutlierPolicy(StrEnum):
    """What an outlier move leads to: a flag only, a rejected bar, or a sticky halt."""

    FLAG = "FLAG"
    REJECT = "REJECT"
    HALT_NEW = "HALT_NEW"


class IntegritySettings(BaseModel):
    """Integrity gate settings; the fields mirror config section ``data`` one to one.

    No field has a default here: the shipped config layer (``config/default.yaml``) is the one
    list of defaults, so build this from the effective config, e.g.
    ``IntegritySettings.model_validate(config.settings.data.model_dump())``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    calendar: str = Field(min_length=1, description="exchange_calendars code, or '24/7'")
    gap_tolerance_bars: int = Field(ge=0, strict=True)
    stale_feed_seconds: int = Field(gt=0, strict=True)
    feed_disagreement_bps: NonNegativeDecimal
    outlier_move_fraction: PositiveDecimal
    outlier_policy: OutlierPolicy

    @field_validator("outlier_move_fraction")
    @classmethod
    def _at_most_eight_decimals(cls, value: Decimal) -> Decimal:
        """Keep the threshold exact in the 8-decimal integer arithmetic of the frame scan."""
        if value > 1000:
            raise ValueError(f"{value} must be <= 1000")
        if value.quantize(Decimal("1e-8")) != value:
            raise ValueError(f"{value} has more than 8 decimals")
        return value
