"""Layer precedence: default -> env -> engine -> risk profile -> stress... -> overrides."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from mqk_config import AppliedLayer, load_config

_ENGINE = """\
engine:
  engine_id: TEST
  risk_profile: probe
  keys_env: {api_key: KEY_TEST, api_secret: SECRET_TEST}
"""

# Layers in order of application; a layer that writes the probe sets it to its 1-based rank.
_ORDER = ["default", "env", "engine", "risk", "stress s1", "stress s2", "overrides"]


def _setup(config_copy: Path, write: Callable[[str, str], Path], writers: set[str]) -> None:
    """Every layer exists; those in ``writers`` set risk.max_position_quantity to their rank."""
    default = (config_copy / "default.yaml").read_text(encoding="utf-8")
    if "default" in writers:
        default = default.replace("max_position_quantity: 1000", "max_position_quantity: 1")
    write("default.yaml", default)

    def probe(name: str) -> str:
        rank = _ORDER.index(name) + 1
        return f"risk:\n  max_position_quantity: {rank}\n" if name in writers else ""

    write("env/test.yaml", probe("env"))
    write("engines/TEST.yaml", _ENGINE + probe("engine"))
    write("risk/probe.yaml", probe("risk"))
    write("stress/s1.yaml", probe("stress s1"))
    write("stress/s2.yaml", probe("stress s2"))


@pytest.mark.parametrize("last", range(len(_ORDER)))
def scenario_the_latest_layer_that_sets_a_key_wins(
    config_copy: Path, write_layer: Callable[[str, str], Path], last: int
) -> None:
    writers = set(_ORDER[: last + 1])
    _setup(config_copy, write_layer, writers)
    overrides = {"risk": {"max_position_quantity": 7}} if "overrides" in writers else None
    config = load_config(
        config_copy, engine="TEST", env="test", stress=["s1", "s2"], overrides=overrides
    )
    assert config.risk.max_position_quantity == Decimal(last + 1)


@pytest.mark.parametrize("only", _ORDER)
def scenario_a_key_set_by_a_single_layer_comes_from_that_layer(
    config_copy: Path, write_layer: Callable[[str, str], Path], only: str
) -> None:
    _setup(config_copy, write_layer, {"default", only})
    overrides = {"risk": {"max_position_quantity": 7}} if only == "overrides" else None
    config = load_config(
        config_copy, engine="TEST", env="test", stress=["s1", "s2"], overrides=overrides
    )
    assert config.risk.max_position_quantity == Decimal(_ORDER.index(only) + 1)


def scenario_stress_profiles_apply_in_the_order_given(
    config_copy: Path, write_layer: Callable[[str, str], Path]
) -> None:
    _setup(config_copy, write_layer, {"default", "stress s1", "stress s2"})
    forward = load_config(config_copy, engine="TEST", env="test", stress=["s1", "s2"])
    backward = load_config(config_copy, engine="TEST", env="test", stress=["s2", "s1"])
    assert forward.risk.max_position_quantity == Decimal(6)
    assert backward.risk.max_position_quantity == Decimal(5)
    assert forward.config_hash != backward.config_hash


def scenario_layers_applied_are_reported_in_order(
    config_copy: Path, write_layer: Callable[[str, str], Path]
) -> None:
    _setup(config_copy, write_layer, {"default"})
    config = load_config(
        config_copy, engine="TEST", env="test", stress=["s2"], overrides={"backtest": {"seed": 1}}
    )
    assert config.layers == (
        AppliedLayer("default", "default", str(config_copy / "default.yaml")),
        AppliedLayer("env", "test", str(config_copy / "env" / "test.yaml")),
        AppliedLayer("engine", "TEST", str(config_copy / "engines" / "TEST.yaml")),
        AppliedLayer("risk", "probe", str(config_copy / "risk" / "probe.yaml")),
        AppliedLayer("stress", "s2", str(config_copy / "stress" / "s2.yaml")),
        AppliedLayer("overrides", "overrides", "<overrides>"),
    )
    assert config.layer_files == tuple(Path(layer.source) for layer in config.layers[:5])
    assert (config.engine_id, config.env, config.stress) == ("TEST", "test", ("s2",))


def scenario_a_nested_map_merges_key_by_key_across_layers(
    config_copy: Path, write_layer: Callable[[str, str], Path]
) -> None:
    _setup(config_copy, write_layer, {"default"})
    write_layer("risk/probe.yaml", "risk:\n  reject_storm:\n    max_rejects: 2\n")
    write_layer("stress/s1.yaml", "execution:\n  latency_bars:\n    cancel: 4\n")
    config = load_config(config_copy, engine="TEST", env="test", stress=["s1"])
    assert (config.risk.reject_storm.max_rejects, config.risk.reject_storm.window_seconds) == (
        2,
        300,
    )
    latency = config.execution.latency_bars
    assert (latency.submit, latency.cancel, latency.replace) == (0, 4, 0)


def scenario_a_list_from_a_later_layer_replaces_the_whole_list(
    config_copy: Path, write_layer: Callable[[str, str], Path]
) -> None:
    _setup(config_copy, write_layer, {"default"})
    write_layer(
        "engines/TEST.yaml",
        _ENGINE + "  strategies:\n    - name: zscore_mean_reversion\n      params: {window: 5}\n",
    )
    config = load_config(config_copy, engine="TEST", env="test")
    assert len(config.engine.strategies) == 1
    strategy = config.engine.strategies[0]
    assert (strategy.name, strategy.params) == ("zscore_mean_reversion", {"window": 5})


def scenario_overrides_can_set_strategy_params_exactly(
    config_copy: Path, write_layer: Callable[[str, str], Path]
) -> None:
    _setup(config_copy, write_layer, {"default"})
    strategies: list[dict[str, Any]] = [
        {"name": "sma_cross", "params": {"fast": 3, "slow": 9, "qty": Decimal("0.5")}}
    ]
    config = load_config(
        config_copy, engine="TEST", env="test", overrides={"engine": {"strategies": strategies}}
    )
    assert config.engine.strategies[0].params == {"fast": 3, "slow": 9, "qty": Decimal("0.5")}
