"""Host settings, mirroring config section ``engine``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mqk_schemas import EngineId
from mqk_strategy.errors import HostConfigError

__all__ = ["EngineSection", "HostSettings", "SupportsModelDump", "engine_mapping"]


class SupportsModelDump(Protocol):
    """A pydantic model, such as mqk_config's ``EngineSettings``."""

    def model_dump(self) -> dict[str, Any]:
        """The model as plain Python data."""
        ...


EngineSection = Mapping[str, Any] | SupportsModelDump
"""A config ``engine`` section: a mapping, or the validated config model itself."""


def engine_mapping(engine: EngineSection) -> Mapping[str, Any]:
    """The section as a mapping (pydantic models are dumped)."""
    if isinstance(engine, Mapping):
        return engine
    if hasattr(engine, "model_dump"):
        return engine.model_dump()
    raise HostConfigError(f"an engine section is a mapping, not {type(engine).__name__}")


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
    def from_engine_section(cls, engine: EngineSection) -> HostSettings:
        """Pick this model's fields from a config ``engine`` section (other keys ignored)."""
        engine = engine_mapping(engine)
        try:
            return cls.model_validate({name: engine.get(name) for name in cls.model_fields})
        except ValidationError as error:
            problems = "; ".join(
                f"engine.{'.'.join(str(p) for p in item['loc'])}: {item['msg']}"
                for item in error.errors(include_url=False)
            )
            raise HostConfigError(f"strategy host settings refused: {problems}") from None
