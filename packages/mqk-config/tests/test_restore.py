"""A config rebuilt from its canonical JSON (a run manifest) is the same config, same hash."""

from __future__ import annotations

from pathlib import Path

import pytest

from mqk_config import (
    ConfigSecretDetected,
    ConfigValidationError,
    config_from_canonical_json,
    load_config,
)

CONFIG_DIR = Path(__file__).resolve().parents[3] / "config"


@pytest.mark.parametrize(
    ("engine", "env", "stress"),
    [("MAIN", "dev", ()), ("EXP", "prod", ("slippage_x2",)), ("MAIN", "dev", ("latency_high",))],
)
def invariant_restored_config_has_the_same_settings_and_hash(
    engine: str, env: str, stress: tuple[str, ...]
) -> None:
    loaded = load_config(CONFIG_DIR, engine=engine, env=env, stress=stress)
    restored = config_from_canonical_json(
        loaded.canonical_json, source="manifest.json", env=env, stress=stress
    )
    assert restored.settings == loaded.settings
    assert restored.config_hash == loaded.config_hash
    assert restored.engine_id == engine


@pytest.mark.parametrize(
    ("engine", "env", "stress"),
    [("MAIN", "dev", ()), ("EXP", "prod", ("slippage_x2",)), ("MAIN", "dev", ("latency_high",))],
)
def invariant_loaded_settings_are_the_restored_ones_down_to_each_decimals_exponent(
    engine: str, env: str, stress: tuple[str, ...]
) -> None:
    # the shipped risk layer writes max_drawdown "0.10", the canonical JSON "0.1": a replay
    # rebuilds 0.1, so the loaded run must hold 0.1 too (repr shows exponents and key order)
    loaded = load_config(
        CONFIG_DIR,
        engine=engine,
        env=env,
        stress=stress,
        overrides={"risk": {"max_leverage": "1.50"}},
    )
    restored = config_from_canonical_json(
        loaded.canonical_json, source="manifest.json", env=env, stress=stress
    )
    assert repr(loaded.settings) == repr(restored.settings)
    assert repr(loaded.settings.risk.max_leverage) == "Decimal('1.5')"
    assert loaded.layers[-1].kind == "overrides"


def unit_restore_refuses_unknown_keys_with_their_path() -> None:
    text = load_config(CONFIG_DIR, engine="MAIN").canonical_json
    with pytest.raises(ConfigValidationError, match=r"risk\.reject_storm\.max_rejcts: unknown key"):
        config_from_canonical_json(
            text.replace('"max_rejects"', '"max_rejcts"'), source="manifest.json", env="dev"
        )


def unit_restore_refuses_non_canonical_text() -> None:
    text = load_config(CONFIG_DIR, engine="MAIN").canonical_json
    with pytest.raises(ConfigValidationError, match="not the canonical JSON"):
        config_from_canonical_json(text.replace(",", ", ", 1), source="m.json", env="dev")


def unit_restore_refuses_a_secret() -> None:
    text = load_config(CONFIG_DIR, engine="MAIN").canonical_json
    tampered = text.replace('"ALPACA_API_KEY_MAIN"', '"sk-live-4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c"')
    with pytest.raises(ConfigSecretDetected) as caught:
        config_from_canonical_json(tampered, source="m.json", env="dev")
    assert "4f9a8b7c6d5e" not in str(caught.value)
