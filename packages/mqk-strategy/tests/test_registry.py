"""Plugin discovery and parameter validation."""

from __future__ import annotations

from decimal import Decimal
from importlib.metadata import EntryPoint
from typing import Any

import pytest

import mqk_strategy._registry as registry_module
from mqk_strategy import (
    StrategyParamsError,
    StrategyPluginError,
    StrategyRegistry,
    UnknownStrategyError,
    VectorisedStrategy,
)
from mqk_strategy.builtins import BUILTIN_SPECS, SMA_CROSS, SmaCross


def contract_entry_point_discovery_finds_the_three_builtins() -> None:
    registry = StrategyRegistry.discover()
    assert registry.names == ("atr_trend_swing", "sma_cross", "zscore_mean_reversion")
    assert registry.get("sma_cross") is SMA_CROSS


VALID_PARAMS: dict[str, dict[str, Any]] = {
    "sma_cross": {"fast": 10, "slow": 20, "qty": 100},
    "zscore_mean_reversion": {
        "window": 20,
        "entry_z": Decimal(2),
        "exit_z": Decimal("0.5"),
        "qty": 10,
        "allow_short": False,
    },
    "atr_trend_swing": {"breakout": 20, "atr_period": 14, "atr_multiple": "3", "qty": 5},
}


@pytest.mark.parametrize("name", sorted(VALID_PARAMS))
def contract_every_builtin_builds_a_vectorised_strategy_from_valid_params(name: str) -> None:
    strategy = StrategyRegistry.discover().build(name, VALID_PARAMS[name])
    assert isinstance(strategy, VectorisedStrategy)
    assert strategy.lookback >= 1


BAD_PARAMS = [
    ("sma_cross", {"fast": 10, "slow": 20, "qty": 100, "fsat": 3}, "unknown parameter 'fsat'"),
    ("sma_cross", {"fast": 10, "qty": 100}, "parameter 'slow' is required"),
    ("sma_cross", {"fast": 20, "slow": 20, "qty": 100}, "fast (20) must be < slow (20)"),
    ("sma_cross", {"fast": 30, "slow": 20, "qty": 100}, "fast (30) must be < slow (20)"),
    ("sma_cross", {"fast": "10", "slow": 20, "qty": 100}, "parameter 'fast'"),
    ("sma_cross", {"fast": 0, "slow": 20, "qty": 100}, "parameter 'fast'"),
    ("sma_cross", {"fast": 1, "slow": 10_001, "qty": 100}, "parameter 'slow'"),
    ("sma_cross", {"fast": 10, "slow": 20, "qty": 1.5}, "binary float"),
    ("sma_cross", {"fast": 10, "slow": 20, "qty": 0}, "must be > 0"),
    ("sma_cross", {"fast": 10, "slow": 20, "qty": "0.000000001"}, "more than 8 decimal places"),
    ("sma_cross", {"fast": 10, "slow": 20, "qty": True}, "parameter 'qty'"),
    (
        "zscore_mean_reversion",
        {**VALID_PARAMS["zscore_mean_reversion"], "entry_z": "0.5"},
        "entry_z (0.5) must be > exit_z (0.5)",
    ),
    (
        "zscore_mean_reversion",
        {**VALID_PARAMS["zscore_mean_reversion"], "entry_z": "2.00001"},
        "more than 4 decimal places",
    ),
    (
        "zscore_mean_reversion",
        {**VALID_PARAMS["zscore_mean_reversion"], "window": 1},
        "parameter 'window'",
    ),
    (
        "zscore_mean_reversion",
        {**VALID_PARAMS["zscore_mean_reversion"], "allow_short": "yes"},
        "parameter 'allow_short'",
    ),
    (
        "atr_trend_swing",
        {**VALID_PARAMS["atr_trend_swing"], "atr_multiple": "0"},
        "atr_multiple must be > 0",
    ),
    (
        "atr_trend_swing",
        {**VALID_PARAMS["atr_trend_swing"], "atr_multiple": "101"},
        "exceeds 100",
    ),
]


@pytest.mark.parametrize(("name", "params", "expected"), BAD_PARAMS)
def unit_bad_params_are_refused_naming_strategy_parameter_and_rule(
    name: str, params: dict[str, Any], expected: str
) -> None:
    with pytest.raises(StrategyParamsError) as caught:
        StrategyRegistry.discover().build(name, params)
    assert expected in str(caught.value)
    assert str(caught.value).startswith(f"strategy {name!r}: ")
    assert caught.value.reason_code == "STRATEGY_PARAMS_INVALID"


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("sma_cross", {"fast": 30, "slow": 20, "qty": 100}, "fast (30) must be < slow (20)"),
        (
            "zscore_mean_reversion",
            {**VALID_PARAMS["zscore_mean_reversion"], "entry_z": "0.5"},
            "entry_z (0.5) must be > exit_z (0.5)",
        ),
    ],
)
def unit_a_rule_across_parameters_reads_as_the_rule_alone(
    name: str, params: dict[str, Any], message: str
) -> None:
    """Not "parameter '(parameters)': Value error, ..." with the whole input repeated."""
    with pytest.raises(StrategyParamsError) as caught:
        StrategyRegistry.discover().build(name, params)
    assert str(caught.value) == f"strategy {name!r}: {message}"


def unit_params_that_are_not_a_mapping_are_refused() -> None:
    with pytest.raises(StrategyParamsError, match="parameters must be a mapping, not list"):
        SMA_CROSS.build([("fast", 1)])  # type: ignore[arg-type]


def unit_unknown_strategy_name_is_refused_listing_the_known_ones() -> None:
    with pytest.raises(UnknownStrategyError) as caught:
        StrategyRegistry.discover().build("sma_crossover", {})
    assert str(caught.value) == (
        "no strategy named 'sma_crossover' "
        "(known: atr_trend_swing, sma_cross, zscore_mean_reversion)"
    )


def unit_registry_refuses_two_specs_with_one_name() -> None:
    with pytest.raises(StrategyPluginError, match="two strategies are registered as 'sma_cross'"):
        StrategyRegistry([*BUILTIN_SPECS, SMA_CROSS])


@pytest.mark.parametrize(
    ("point", "expected"),
    [
        (
            EntryPoint("smacross", "mqk_strategy.builtins:SMA_CROSS", "mqk.strategies"),
            "entry point 'smacross' loads the spec named 'sma_cross'",
        ),
        (
            EntryPoint("sma_cross", "mqk_strategy.builtins:SmaCross", "mqk.strategies"),
            "is a type, not a StrategySpec",
        ),
        (
            EntryPoint("gone", "mqk_strategy.no_such_module:SPEC", "mqk.strategies"),
            "entry point 'gone' (mqk_strategy.no_such_module:SPEC) failed to load",
        ),
    ],
)
def fault_entry_point_that_does_not_load_a_matching_spec_is_refused(
    monkeypatch: pytest.MonkeyPatch, point: EntryPoint, expected: str
) -> None:
    monkeypatch.setattr(registry_module, "entry_points", lambda group: [point])
    with pytest.raises(StrategyPluginError) as caught:
        StrategyRegistry.discover()
    assert expected in str(caught.value)


def unit_spec_factory_returns_a_fresh_instance_each_build() -> None:
    first = SMA_CROSS.build({"fast": 1, "slow": 2, "qty": 1})
    second = SMA_CROSS.build({"fast": 1, "slow": 2, "qty": 1})
    assert isinstance(first, SmaCross)
    assert first is not second
