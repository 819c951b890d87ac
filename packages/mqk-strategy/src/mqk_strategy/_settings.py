"""Host settings, mirroring config section ``engine``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mqk_schemas import EngineId
from mqk_strategy.errors import HostConfigError

__all__ = ["HostSettings"]


class HostSettings(BaseModel):
    """What the strategy host enforces for one engine.

    Mirrors ``engine.engine_id``, ``engine.max_strategies``, ``engine.max_timeframes`` and
    ``engine.shadow``; no defaults here, the config's default layer holds them.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    engine_id: EngineId
    max_strategies: int = Field(ge=1)
    max_timeframes: int = Field(ge=1)
    shadow: bool

    @classmethod
    def from_engine_section(cls, engine: Mapping[str, Any]) -> HostSettings:
        """Pick this model's fields from a config ``engine`` section (other keys ignored)."""
        try:
            return cls.model_validate({name: engine.get(name) for name in cls.model_fields})
        except ValidationError as error:
            problems = "; ".join(
                f"engine.{'.'.join(str(p) for p in item['loc'])}: {item['msg']}"
                for item in error.errors(include_url=False)
            )
            raise HostConfigError(f"strategy host settings refused: {problems}") from None
