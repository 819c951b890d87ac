"""Engine settings: keys carry the engine token and are never shared; caps fit the account."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict

from mqk_isolation import (
    AllocationGuard,
    EngineSettings,
    EngineSettingsError,
    engine_settings_violations,
    validate_engine_settings,
)

D = Decimal


def _engine(engine_id: str, cap: Any, key: str | None = None, secret: str | None = None) -> dict:
    return {
        "engine_id": engine_id,
        "allocation_cap": cap,
        "keys_env": {
            "api_key": key or f"ALPACA_API_KEY_{engine_id}",
            "api_secret": secret or f"ALPACA_API_SECRET_{engine_id}",
        },
        "timeframe": "1d",  # other engine settings are ignored here
    }


def _violations(engines: Any) -> list[tuple[str, str]]:
    return [(v.path, v.reason_code) for v in engine_settings_violations(engines)]


def unit_valid_engines_pass_and_are_normalised() -> None:
    settings = validate_engine_settings([_engine("MAIN", "0.6"), _engine("EXP", D("0.4"))])
    assert settings == (
        EngineSettings.model_validate(
            {
                "engine_id": "MAIN",
                "allocation_cap": D("0.6"),
                "keys_env": {
                    "api_key": "ALPACA_API_KEY_MAIN",
                    "api_secret": "ALPACA_API_SECRET_MAIN",
                },
            }
        ),
        EngineSettings.model_validate(
            {
                "engine_id": "EXP",
                "allocation_cap": D("0.4"),
                "keys_env": {
                    "api_key": "ALPACA_API_KEY_EXP",
                    "api_secret": "ALPACA_API_SECRET_EXP",
                },
            }
        ),
    )


@pytest.mark.parametrize(
    ("engines", "expected"),
    [
        (  # MAIN points at EXP's key: wrong token for MAIN, and shared by both
            [_engine("MAIN", "0.6", key="ALPACA_API_KEY_EXP"), _engine("EXP", "0.4")],
            [
                ("engines.MAIN.keys_env.api_key", "KEY_ENV_WRONG_TOKEN"),
                ("engines.MAIN.keys_env.api_key", "KEY_ENV_SHARED"),
                ("engines.EXP.keys_env.api_key", "KEY_ENV_SHARED"),
            ],
        ),
        (  # a name without any engine token
            [_engine("MAIN", "0.6", secret="ALPACA_API_SECRET")],
            [("engines.MAIN.keys_env.api_secret", "KEY_ENV_WRONG_TOKEN")],
        ),
        (  # the token must be a whole suffix, not a fragment
            [_engine("EXP", "0.4", key="ALPACA_API_KEY_MAINEXP")],
            [("engines.EXP.keys_env.api_key", "KEY_ENV_WRONG_TOKEN")],
        ),
        (
            [_engine("MAIN", "0.6", secret="ALPACA_API_KEY_MAIN")],
            [("engines.MAIN.keys_env.api_secret", "KEY_ENV_KEY_IS_SECRET")],
        ),
        (
            [_engine("MAIN", "0.6"), _engine("EXP", "0.5")],
            [("engines", "ALLOCATION_CAPS_EXCEED_ACCOUNT")],
        ),
        (
            [_engine("MAIN", "1"), _engine("EXP", "0")],
            [("engines.EXP.allocation_cap", "ALLOCATION_CAP_OUT_OF_RANGE")],
        ),
        ([_engine("MAIN", 0.6)], [("engines.MAIN.allocation_cap", "ALLOCATION_CAP_INEXACT")]),
        (
            [_engine("MAIN", "0.3"), _engine("MAIN", "0.3")],
            [("engines.MAIN.engine_id", "ENGINE_ID_DUPLICATE")],
        ),
        (
            [
                {
                    "engine_id": "Main",
                    "allocation_cap": "0.1",
                    "keys_env": {"api_key": "A_Main", "api_secret": "B"},
                }
            ],
            [
                ("engines.Main.engine_id", "ENGINE_ID_INVALID"),
                ("engines.Main.keys_env.api_key", "KEY_ENV_NAME_INVALID"),
            ],
        ),
        (
            [{"engine_id": "MAIN"}],
            [
                ("engines.MAIN.allocation_cap", "ALLOCATION_CAP_MISSING"),
                ("engines.MAIN.keys_env", "KEY_ENV_MISSING"),
            ],
        ),
    ],
)
def unit_every_violation_is_reported_with_its_key_path(
    engines: list[dict], expected: list[tuple[str, str]]
) -> None:
    assert _violations(engines) == expected
    with pytest.raises(EngineSettingsError) as caught:
        validate_engine_settings(engines)
    assert [(v.path, v.reason_code) for v in caught.value.violations] == expected
    for path, _ in expected:
        assert path in str(caught.value)


def unit_shared_keys_are_refused_even_when_the_token_would_fit() -> None:
    """Engines named by mapping key: both entries point at one variable."""
    engines = {
        "MAIN": _engine("MAIN", "0.5"),
        "EXP": _engine("EXP", "0.5", key="ALPACA_API_KEY_MAIN"),
    }
    assert _violations(engines) == [
        ("engines.EXP.keys_env.api_key", "KEY_ENV_WRONG_TOKEN"),
        ("engines.MAIN.keys_env.api_key", "KEY_ENV_SHARED"),
        ("engines.EXP.keys_env.api_key", "KEY_ENV_SHARED"),
    ]
    message = engine_settings_violations(engines)[1].message
    assert message == "ALPACA_API_KEY_MAIN is also used by engine(s) EXP"


def unit_mapping_key_must_match_engine_id() -> None:
    assert _violations({"EXP": _engine("MAIN", "0.5")}) == [
        ("engines.EXP.engine_id", "ENGINE_ID_MISMATCH")
    ]


def fault_a_secret_pasted_where_a_name_belongs_is_never_echoed() -> None:
    secret = "sk-live-9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c"
    with pytest.raises(EngineSettingsError) as caught:
        validate_engine_settings([_engine("MAIN", "0.5", secret=secret)])
    assert [v.reason_code for v in caught.value.violations] == ["KEY_ENV_NAME_INVALID"]
    assert secret not in str(caught.value)
    assert "9f8e7d" not in repr(caught.value.violations)


def unit_config_models_with_extra_fields_are_read_by_attribute() -> None:
    class Keys(BaseModel):
        api_key: str
        api_secret: str

    class Engine(BaseModel):
        model_config = ConfigDict(frozen=True)
        engine_id: str
        allocation_cap: Decimal
        keys_env: Keys
        risk_profile: str

    main = Engine(
        engine_id="MAIN",
        allocation_cap=D("0.6"),
        keys_env=Keys(api_key="ALPACA_API_KEY_MAIN", api_secret="ALPACA_API_SECRET_MAIN"),
        risk_profile="tier_a",
    )
    guard = AllocationGuard.from_settings([main], market_buffer=D("0.001"))
    assert guard.cap("MAIN") == D("0.6")
    assert guard.market_buffer == D("0.001")
