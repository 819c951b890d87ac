"""The shipped config/: every combination loads, is documented, and says what the brief asks."""

from __future__ import annotations

import itertools
import re
from decimal import Decimal
from pathlib import Path

import pytest

from mqk_config import (
    AmbiguityPolicy,
    available_layers,
    format_path,
    load_config,
    parse_yaml_text,
    required_paths,
)
from mqk_config._merge import lookup_path
from mqk_schemas import Action, Timeframe

_STRESS_SETS = [
    (),
    ("slippage_x2",),
    ("latency_high",),
    ("slippage_x2", "latency_high"),
]


def unit_shipped_layers_are_the_documented_set(shipped_config: Path) -> None:
    assert available_layers(shipped_config, "env") == ["dev", "prod"]
    assert available_layers(shipped_config, "engine") == ["EXP", "MAIN"]
    assert available_layers(shipped_config, "risk") == ["tier_a", "tier_b"]
    assert available_layers(shipped_config, "stress") == ["latency_high", "slippage_x2"]


@pytest.mark.parametrize(
    ("engine", "env", "stress"),
    list(itertools.product(["MAIN", "EXP"], ["dev", "prod"], _STRESS_SETS)),
)
def scenario_every_shipped_combination_loads_with_a_distinct_hash(
    shipped_config: Path, engine: str, env: str, stress: tuple[str, ...]
) -> None:
    config = load_config(shipped_config, engine=engine, env=env, stress=stress)
    assert config.engine.engine_id == engine
    assert len(config.layers) == 4 + len(stress)
    others = {
        load_config(shipped_config, engine=e, env=v, stress=s).config_hash
        for e, v, s in itertools.product(["MAIN", "EXP"], ["dev", "prod"], _STRESS_SETS)
        if (e, v, s) != (engine, env, stress)
    }
    assert config.config_hash not in others


def scenario_main_defaults_to_sma_cross_on_daily_xnys_bars(shipped_config: Path) -> None:
    config = load_config(shipped_config, engine="MAIN")
    assert [(s.name, s.params) for s in config.engine.strategies] == [
        ("sma_cross", {"fast": 10, "slow": 20, "qty": 100})
    ]
    assert config.engine.timeframe is Timeframe.D1
    assert config.data.calendar == "XNYS"
    assert config.engine.risk_profile == "tier_a"
    assert config.engine.keys_env.api_key == "ALPACA_API_KEY_MAIN"
    assert config.engine.keys_env.api_secret == "ALPACA_API_SECRET_MAIN"
    assert config.execution.allow_same_bar_fills is False
    assert config.execution.ambiguity_policy is AmbiguityPolicy.CONSERVATIVE_WORST_CASE
    assert config.risk.kill_switches_enabled is True
    assert config.settings.arming_phrase() == "ARM LIVE 1234 0.02"
    assert config.broker.last4 == "1234"


def scenario_exp_is_capped_below_main_with_tier_b(shipped_config: Path) -> None:
    main = load_config(shipped_config, engine="MAIN")
    exp = load_config(shipped_config, engine="EXP")
    assert exp.engine.risk_profile == "tier_b"
    assert exp.engine.allocation_cap < main.engine.allocation_cap
    assert main.engine.allocation_cap + exp.engine.allocation_cap <= Decimal(1)
    assert exp.risk.daily_loss_limit < main.risk.daily_loss_limit
    assert exp.risk.max_drawdown < main.risk.max_drawdown
    assert exp.risk.max_position_notional < main.risk.max_position_notional
    main_keys = {main.engine.keys_env.api_key, main.engine.keys_env.api_secret}
    exp_keys = {exp.engine.keys_env.api_key, exp.engine.keys_env.api_secret}
    assert not main_keys & exp_keys
    assert exp.settings.arming_phrase() == "ARM LIVE 1234 0.01"


def scenario_prod_is_stricter_than_dev(shipped_config: Path) -> None:
    dev = load_config(shipped_config, engine="MAIN", env="dev")
    prod = load_config(shipped_config, engine="MAIN", env="prod")
    assert prod.risk.require_protective_stop
    assert not dev.risk.require_protective_stop
    assert prod.risk.desync_action.severity > dev.risk.desync_action.severity
    assert prod.risk.desync_action is Action.FLATTEN_AND_HALT
    assert prod.reconcile.freshness_seconds < dev.reconcile.freshness_seconds
    assert prod.runtime.heartbeat_stale_seconds < dev.runtime.heartbeat_stale_seconds


def scenario_stress_profiles_change_only_what_they_name(shipped_config: Path) -> None:
    base = load_config(shipped_config, engine="MAIN")
    slip = load_config(shipped_config, engine="MAIN", stress=["slippage_x2"])
    late = load_config(shipped_config, engine="MAIN", stress=["latency_high"])
    assert slip.execution.slippage_bps == 2 * base.execution.slippage_bps
    assert slip.execution.slippage_cap_bps == 2 * base.execution.slippage_cap_bps
    assert slip.settings.model_copy(update={"execution": base.execution}) == base.settings
    latency = late.execution.latency_bars
    assert (latency.submit, latency.cancel, latency.replace) == (2, 2, 2)
    assert late.settings.model_copy(update={"execution": base.execution}) == base.settings


def invariant_default_layer_alone_defines_every_setting(shipped_config: Path) -> None:
    path = shipped_config / "default.yaml"
    data = parse_yaml_text(path.read_text(encoding="utf-8"), str(path))
    missing = [format_path(p) for p in required_paths() if not lookup_path(data, p)[0]]
    assert missing == []


_KEY_LINE = re.compile(r"^(?P<indent> *)(?P<key>[a-z_0-9]+):")


def invariant_every_default_setting_is_documented_by_a_comment(shipped_config: Path) -> None:
    """Each setting's line, or the line of the group holding it, has a comment right above."""
    lines = (shipped_config / "default.yaml").read_text(encoding="utf-8").splitlines()
    commented: dict[tuple[str | int, ...], bool] = {}
    stack: list[tuple[int, str]] = []
    for number, line in enumerate(lines):
        match = _KEY_LINE.match(line)
        if not match:
            continue
        indent = len(match["indent"])
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, match["key"]))
        previous = lines[number - 1].strip() if number else ""
        commented[tuple(key for _, key in stack)] = previous.startswith("#")
    undocumented = []
    for path in required_paths():
        ancestors = [path[:depth] for depth in range(2, len(path) + 1)]
        if not any(commented.get(a, False) for a in ancestors):
            undocumented.append(format_path(path))
    assert undocumented == []
