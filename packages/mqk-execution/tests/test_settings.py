"""ExecutionSettings mirror config section ``execution`` and refuse unsafe values."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from mqk_execution import (
    AmbiguityPolicy,
    ExecutionSettings,
    ExecutionSettingsError,
    SimBroker,
)

_T = datetime(2024, 1, 2, tzinfo=UTC)
CONFIG_EXECUTION_KEYS = {
    "allow_same_bar_fills",
    "spread_bps",
    "slippage_bps",
    "slippage_volatility_multiplier",
    "slippage_cap_bps",
    "commission_per_share",
    "commission_bps",
    "commission_minimum",
    "ambiguity_policy",
    "latency_bars",
    "partial_fills",
    "seed",
}


def unit_settings_fields_are_the_config_section_keys() -> None:
    assert set(ExecutionSettings.model_fields) == CONFIG_EXECUTION_KEYS
    defaults = ExecutionSettings()
    assert set(defaults.latency_bars.model_dump()) == {"submit", "cancel", "replace"}
    assert set(defaults.partial_fills.model_dump()) == {
        "enabled",
        "fill_fraction_min",
        "probability",
    }
    assert defaults.allow_same_bar_fills is False
    assert defaults.ambiguity_policy is AmbiguityPolicy.CONSERVATIVE_WORST_CASE


@pytest.mark.parametrize(
    "field",
    [
        "spread_bps",
        "slippage_bps",
        "slippage_volatility_multiplier",
        "slippage_cap_bps",
        "commission_per_share",
        "commission_bps",
        "commission_minimum",
    ],
)
def fault_negative_cost_setting_is_refused_at_construction(field: str) -> None:
    with pytest.raises(ExecutionSettingsError) as err:
        ExecutionSettings.model_validate({field: "-0.01"})
    assert (f"execution.{field}", "must be >= 0, got -0.01") in err.value.problems
    assert err.value.reason_code == "EXECUTION_SETTINGS_INVALID"


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"slippage_bps": "5", "slippage_cap_bps": "2"}, "execution.slippage_cap_bps"),
        (
            {"partial_fills": {"fill_fraction_min": "0"}},
            "execution.partial_fills.fill_fraction_min",
        ),
        ({"partial_fills": {"probability": "1.5"}}, "execution.partial_fills.probability"),
        ({"latency_bars": {"submit": -1}}, "execution.latency_bars.submit"),
        ({"spread_bps": 1.5}, "execution.spread_bps"),  # a binary float is refused
        ({"spreadbps": "1"}, "execution.spreadbps"),  # unknown key, with its path
        ({"ambiguity_policy": "COIN_FLIP"}, "execution.ambiguity_policy"),
    ],
)
def fault_bad_settings_name_their_key_path(data: dict[str, Any], path: str) -> None:
    with pytest.raises(ExecutionSettingsError) as err:
        ExecutionSettings.from_mapping(data)
    assert path in [p for p, _ in err.value.problems]
    assert path in str(err.value)


def unit_settings_from_a_config_mapping_are_exact() -> None:
    settings = ExecutionSettings.from_mapping(
        {
            "allow_same_bar_fills": False,
            "spread_bps": "2",
            "slippage_bps": "1.5",
            "slippage_volatility_multiplier": "0.1",
            "slippage_cap_bps": "25",
            "commission_per_share": "0.005",
            "commission_bps": "0",
            "commission_minimum": "1",
            "ambiguity_policy": "CONSERVATIVE_WORST_CASE",
            "latency_bars": {"submit": 1, "cancel": 0, "replace": 2},
            "partial_fills": {"enabled": True, "fill_fraction_min": "0.25", "probability": "0.1"},
            "seed": 42,
        }
    )
    assert settings.half_spread_bps == Decimal(1)
    assert settings.slippage_bps == Decimal("1.5")
    assert settings.latency_bars.replace == 2
    assert settings.partial_fills.fill_fraction_min == Decimal("0.25")


def fault_simbroker_cannot_be_built_with_negative_slippage() -> None:
    with pytest.raises(ExecutionSettingsError, match="slippage_bps"):
        SimBroker(ExecutionSettings(slippage_bps=Decimal("-1")), clock=lambda: _T)
