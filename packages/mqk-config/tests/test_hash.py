"""Canonical JSON and config_hash: stable across key order and processes, sensitive to values."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

import pytest

from mqk_config import (
    EffectiveConfig,
    Settings,
    canonical_config_json,
    config_hash,
    deep_merge,
    load_config,
    required_paths,
)
from mqk_schemas import ExactnessError, sha256_hex

_HASH_SCRIPT = (
    "import sys; from mqk_config import load_config; "
    "c = load_config(sys.argv[1], engine=sys.argv[2], env=sys.argv[3], stress=sys.argv[4:]); "
    "print(c.config_hash)"
)


def _reverse_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _reverse_keys(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [_reverse_keys(v) for v in value]
    return value


def unit_hash_is_sha256_of_canonical_json(shipped_config: Path) -> None:
    config = load_config(shipped_config, engine="MAIN")
    assert config.canonical_json == canonical_config_json(config.settings)
    assert config.config_hash == sha256_hex(config.canonical_json) == config_hash(config.settings)
    assert len(config.config_hash) == 64
    assert " " not in config.canonical_json.replace("ARM LIVE {last4} {daily_loss_limit}", "")
    top = list(json.loads(config.canonical_json, parse_float=Decimal))
    assert top == sorted(top)


def invariant_hash_ignores_key_order_in_every_layer_file(
    shipped_config: Path, config_copy: Path
) -> None:
    from mqk_config import parse_yaml_text

    for path in config_copy.rglob("*.yaml"):
        data = parse_yaml_text(path.read_text(encoding="utf-8"), str(path))
        path.write_text(canonical_config_json(_reverse_keys(data)), encoding="utf-8")
    for engine, env in (("MAIN", "dev"), ("EXP", "prod")):
        original = load_config(shipped_config, engine=engine, env=env, stress=["slippage_x2"])
        reordered = load_config(config_copy, engine=engine, env=env, stress=["slippage_x2"])
        assert reordered.config_hash == original.config_hash
        assert reordered.canonical_json == original.canonical_json


@pytest.mark.parametrize(
    ("written", "same_as"),
    [("0.10", "0.1"), ("0.100000", "0.1"), ("1.0e-1", "0.1"), ('"0.1"', "0.1")],
)
def invariant_numbers_are_normalised_before_hashing(
    shipped_config: Path,
    write_layer: Callable[[str, str], Path],
    config_copy: Path,
    written: str,
    same_as: str,
) -> None:
    write_layer("stress/a.yaml", f"risk:\n  max_drawdown: {written}\n")
    write_layer("stress/b.yaml", f"risk:\n  max_drawdown: {same_as}\n")
    a = load_config(config_copy, engine="MAIN", stress=["a"])
    b = load_config(config_copy, engine="MAIN", stress=["b"])
    assert a.config_hash == b.config_hash
    assert '"max_drawdown":0.1,' in a.canonical_json


def invariant_hash_is_identical_across_processes_and_hash_seeds(shipped_config: Path) -> None:
    args = [str(shipped_config), "EXP", "prod", "slippage_x2", "latency_high"]
    expected = load_config(
        shipped_config, engine="EXP", env="prod", stress=["slippage_x2", "latency_high"]
    ).config_hash
    for seed in ("0", "1", "4242", "random"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        result = subprocess.run(
            [sys.executable, "-c", _HASH_SCRIPT, *args],
            capture_output=True,
            text=True,
            env=env,
            check=True,
            cwd=shipped_config.parent.parent,
        )
        assert result.stdout.strip() == expected, (seed, result.stderr)


_STRING_CHANGES = {
    ("data", "calendar"): "XLON",
    ("arming", "phrase_template"): "ARM LIVE NOW {last4} {daily_loss_limit}",
    ("risk", "desync_action"): "DISARM",
}


def _changed(path: tuple[str, ...], value: Any) -> Any:
    if path in _STRING_CHANGES:
        return _STRING_CHANGES[path]
    if isinstance(value, bool):
        return not value
    if isinstance(value, Enum):
        members = [m for m in type(value) if m is not value]
        return members[0].value
    if isinstance(value, int):
        return value + 1
    assert isinstance(value, Decimal), (path, value)
    if Decimal(0) < value <= Decimal(1):
        return value / 2
    return value + 1


_GUARDED = [p for p in required_paths() if p[0] in ("risk", "execution", "data", "arming")]


def unit_every_guarded_setting_is_covered() -> None:
    assert len(_GUARDED) == 17 + 16 + 6 + 2  # risk, execution, data, arming leaves


@pytest.mark.parametrize("path", _GUARDED, ids=".".join)
def invariant_changing_any_risk_execution_data_or_arming_value_changes_the_hash(
    shipped_config: Path, path: tuple[str, ...]
) -> None:
    base = load_config(shipped_config, engine="MAIN")
    current: Any = base.settings
    for part in path:
        current = getattr(current, part)
    new_value: Any = _changed(path, current)
    override: Any = new_value
    for part in reversed(path):
        override = {part: override}
    changed = load_config(shipped_config, engine="MAIN", overrides=override)
    assert changed.config_hash != base.config_hash
    assert changed.canonical_json != base.canonical_json


def fault_canonical_json_refuses_binary_floats() -> None:
    with pytest.raises(ExactnessError, match=r"risk.max_drawdown is a binary float"):
        canonical_config_json({"risk": {"max_drawdown": 0.1}})


def invariant_effective_config_is_float_free(shipped_config: Path) -> None:
    config = load_config(shipped_config, engine="MAIN", stress=["slippage_x2", "latency_high"])

    def walk(value: Any) -> int:
        assert not isinstance(value, float), value
        if isinstance(value, dict):
            return sum(walk(v) for v in value.values())
        if isinstance(value, list | tuple):
            return sum(walk(v) for v in value)
        assert value is None or isinstance(value, str | int | Decimal | Enum)
        return 1

    assert walk(config.to_data()) >= len(required_paths())
    parsed = json.loads(config.canonical_json, parse_float=Decimal)
    assert Settings.model_validate(parsed) == config.settings


def invariant_effective_config_is_immutable(shipped_config: Path) -> None:
    from dataclasses import FrozenInstanceError

    from pydantic import ValidationError

    config: EffectiveConfig = load_config(shipped_config, engine="MAIN")
    with pytest.raises(FrozenInstanceError):
        config.config_hash = "0" * 64  # type: ignore[misc]
    with pytest.raises(ValidationError):
        config.risk.max_drawdown = Decimal("0.5")  # type: ignore[misc]
    assert deep_merge({}, config.to_data()) == config.to_data()
