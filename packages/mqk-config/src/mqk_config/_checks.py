"""Cross-field rules that one field's type cannot express."""

from __future__ import annotations

from mqk_config._merge import KeyPath
from mqk_config._models import Settings

__all__ = ["cross_field_problems"]


def _names_engine(variable: str, engine_id: str) -> bool:
    return engine_id in variable.split("_")


def cross_field_problems(
    settings: Settings, *, engine_id: str, risk_profile: str
) -> list[tuple[KeyPath, str]]:
    """Every broken cross-field rule as (key path, message); empty when all hold."""
    problems: list[tuple[KeyPath, str]] = []
    engine = settings.engine
    if engine.engine_id != engine_id:
        problems.append(
            (
                ("engine", "engine_id"),
                f"is {engine.engine_id!r} but engine {engine_id!r} was requested",
            )
        )
    if engine.risk_profile != risk_profile:
        problems.append(
            (
                ("engine", "risk_profile"),
                f"changed to {engine.risk_profile!r} after profile {risk_profile!r} was applied",
            )
        )
    if len(engine.strategies) > engine.max_strategies:
        problems.append(
            (
                ("engine", "strategies"),
                f"{len(engine.strategies)} listed but max_strategies is {engine.max_strategies}",
            )
        )
    keys = engine.keys_env
    for field, variable in (("api_key", keys.api_key), ("api_secret", keys.api_secret)):
        if not _names_engine(variable, engine.engine_id):
            problems.append(
                (
                    ("engine", "keys_env", field),
                    f"variable name {variable!r} must carry the engine token {engine.engine_id!r}",
                )
            )
    if keys.api_key == keys.api_secret:
        problems.append((("engine", "keys_env", "api_secret"), "must differ from api_key"))
    execution = settings.execution
    if execution.slippage_bps > execution.slippage_cap_bps:
        problems.append((("execution", "slippage_bps"), "exceeds execution.slippage_cap_bps"))
    runtime = settings.runtime
    if runtime.heartbeat_stale_seconds <= runtime.heartbeat_interval_seconds:
        problems.append(
            (
                ("runtime", "heartbeat_stale_seconds"),
                "must be greater than runtime.heartbeat_interval_seconds",
            )
        )
    return problems
