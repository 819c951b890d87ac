"""Strict validation: every problem named by full key path and the layer file that set it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mqk_config import (
    ConfigError,
    ConfigFileError,
    ConfigProblem,
    ConfigValidationError,
    UnknownLayerError,
    load_config,
)


def _problems(config_dir: Path, **kwargs: Any) -> tuple[ConfigProblem, ...]:
    kwargs.setdefault("engine", "MAIN")
    with pytest.raises(ConfigValidationError) as info:
        load_config(config_dir, **kwargs)
    assert info.value.reason_code == "CONFIG_INVALID"
    for problem in info.value.problems:
        assert str(problem) in str(info.value)
    return info.value.problems


@pytest.mark.parametrize(
    ("layer", "text", "path"),
    [
        (
            "stress/typo.yaml",
            "risk:\n  reject_storm:\n    max_rejcts: 3\n",
            "risk.reject_storm.max_rejcts",
        ),
        ("stress/typo.yaml", "riks:\n  max_drawdown: 0.1\n", "riks"),
        ("stress/typo.yaml", "execution:\n  slipage_bps: 3\n", "execution.slipage_bps"),
        (
            "stress/typo.yaml",
            "engine:\n  strategies:\n    - name: sma_cross\n      parms: {fast: 1}\n",
            "engine.strategies[0].parms",
        ),
        ("env/dev.yaml", "broker:\n  acount_id: X-1234\n", "broker.acount_id"),
    ],
)
def fault_unknown_key_is_rejected_with_its_full_path_and_layer(
    config_copy: Path, write_layer: Callable[[str, str], Path], layer: str, text: str, path: str
) -> None:
    written = write_layer(layer, text)
    stress = ["typo"] if layer.startswith("stress/") else []
    problems = _problems(config_copy, stress=stress)
    assert ConfigProblem(path, "unknown key", str(written)) in problems


@pytest.mark.parametrize(
    ("overrides", "path", "fragment"),
    [
        ({"engine": {"allocation_cap": 0}}, "engine.allocation_cap", "must be in (0, 1]"),
        ({"engine": {"allocation_cap": "1.5"}}, "engine.allocation_cap", "must be in (0, 1]"),
        ({"risk": {"daily_loss_limit": 0}}, "risk.daily_loss_limit", "must be in (0, 1]"),
        ({"risk": {"max_drawdown": 2}}, "risk.max_drawdown", "must be in (0, 1]"),
        ({"data": {"outlier_move_fraction": 0}}, "data.outlier_move_fraction", "(0, 1]"),
        (
            {"execution": {"partial_fills": {"probability": "1.01"}}},
            "execution.partial_fills.probability",
            "must be in [0, 1]",
        ),
        ({"execution": {"slippage_bps": -1}}, "execution.slippage_bps", "must be >= 0"),
        ({"execution": {"spread_bps": "-0.5"}}, "execution.spread_bps", "must be >= 0"),
        (
            {"execution": {"commission_per_share": -1}},
            "execution.commission_per_share",
            "must be >= 0",
        ),
        ({"execution": {"commission_bps": -1}}, "execution.commission_bps", "must be >= 0"),
        (
            {"execution": {"commission_minimum": -1}},
            "execution.commission_minimum",
            "must be >= 0",
        ),
        ({"broker": {"starting_cash": 0}}, "broker.starting_cash", "must be > 0"),
        ({"risk": {"max_leverage": 1.5}}, "risk.max_leverage", "binary float"),
        (
            {"risk": {"reject_storm": {"max_rejects": "5"}}},
            "risk.reject_storm.max_rejects",
            "integer",
        ),
        ({"risk": {"pdt": {"mode": "maybe"}}}, "risk.pdt.mode", "'auto' or 'off'"),
        ({"risk": {"desync_action": "ALLOW"}}, "risk.desync_action", "does not stop trading"),
        ({"risk": {"allow_short": "yes"}}, "risk.allow_short", "valid boolean"),
        ({"engine": {"timeframe": "2d"}}, "engine.timeframe", "Input should be"),
        ({"data": {"calendar": "xnys"}}, "data.calendar", "pattern"),
        (
            {"arming": {"phrase_template": "ARM {last4}"}},
            "arming.phrase_template",
            "exactly the placeholders",
        ),
        ({"engine": {"strategies": []}}, "engine.strategies", "at least 1 item"),
        (
            {"engine": {"strategies": [{"name": "x", "params": {"w": 0.5}}]}},
            "engine.strategies[0].params",
            "not an exact config value",
        ),
        ({"risk": None}, "risk", "valid dictionary"),
    ],
)
def fault_out_of_range_or_mistyped_values_are_refused_by_path(
    shipped_config: Path, overrides: dict[str, Any], path: str, fragment: str
) -> None:
    problems = _problems(shipped_config, overrides=overrides)
    assert [p.path for p in problems] == [path]
    assert fragment in problems[0].message
    assert problems[0].layer == "<overrides>"


@pytest.mark.parametrize(
    ("overrides", "path", "fragment"),
    [
        (
            {"execution": {"slippage_bps": 60}},
            "execution.slippage_bps",
            "exceeds execution.slippage_cap_bps",
        ),
        (
            {"runtime": {"heartbeat_stale_seconds": 5}},
            "runtime.heartbeat_stale_seconds",
            "greater than runtime.heartbeat_interval_seconds",
        ),
        (
            {"engine": {"keys_env": {"api_key": "ALPACA_API_KEY_EXP"}}},
            "engine.keys_env.api_key",
            "must carry the engine token 'MAIN'",
        ),
        (
            {"engine": {"keys_env": {"api_secret": "ALPACA_API_KEY_MAIN"}}},
            "engine.keys_env.api_secret",
            "must differ from api_key",
        ),
        (
            {"engine": {"strategies": [{"name": "a", "params": {}}, {"name": "b", "params": {}}]}},
            "engine.strategies",
            "2 listed but max_strategies is 1",
        ),
        ({"engine": {"engine_id": "EXP"}}, "engine.engine_id", "'MAIN' was requested"),
        ({"engine": {"risk_profile": "tier_b"}}, "engine.risk_profile", "after profile 'tier_a'"),
    ],
)
def fault_cross_field_rules_are_enforced(
    shipped_config: Path, overrides: dict[str, Any], path: str, fragment: str
) -> None:
    problems = _problems(shipped_config, overrides=overrides)
    assert path in [p.path for p in problems]
    problem = next(p for p in problems if p.path == path)
    assert fragment in problem.message


def fault_engine_layer_must_set_its_own_engine_id(
    config_copy: Path, write_layer: Callable[[str, str], Path]
) -> None:
    text = (config_copy / "engines" / "EXP.yaml").read_text(encoding="utf-8")
    written = write_layer("engines/EXP.yaml", text.replace("  engine_id: EXP\n", ""))
    problems = _problems(config_copy, engine="EXP")
    assert (
        ConfigProblem("engine.engine_id", "the engine layer must set it (to 'EXP')", str(written))
        in problems
    )


def fault_engine_layer_naming_another_engine_is_refused(
    config_copy: Path, write_layer: Callable[[str, str], Path]
) -> None:
    text = (config_copy / "engines" / "EXP.yaml").read_text(encoding="utf-8")
    written = write_layer("engines/EXP.yaml", text.replace("engine_id: EXP", "engine_id: MAIN"))
    problems = _problems(config_copy, engine="EXP")
    assert problems[0] == ConfigProblem(
        "engine.engine_id", "is 'MAIN' but the layer is engine 'EXP'", str(written)
    )


def fault_risk_profile_may_only_set_the_risk_section(
    config_copy: Path, write_layer: Callable[[str, str], Path]
) -> None:
    text = (config_copy / "risk" / "tier_a.yaml").read_text(encoding="utf-8")
    written = write_layer("risk/tier_a.yaml", text + "engine:\n  allocation_cap: 1\n")
    problems = _problems(config_copy)
    assert problems == (
        ConfigProblem("engine", "a risk profile layer may only set the risk section", str(written)),
    )


@pytest.mark.parametrize(
    "setting",
    ["risk.max_leverage", "execution.latency_bars.cancel", "backtest.periods_per_year"],
)
def fault_a_setting_missing_from_the_default_layer_fails_clearly(
    config_copy: Path, write_layer: Callable[[str, str], Path], setting: str
) -> None:
    leaf = setting.rsplit(".", 1)[1]
    lines = (config_copy / "default.yaml").read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [line for line in lines if not line.strip().startswith(f"{leaf}:")]
    assert len(kept) == len(lines) - 1
    default = write_layer("default.yaml", "".join(kept))
    # even when a later layer supplies the value, the default layer must list it
    section = setting.split(".")
    supplied: Any = 1
    for part in reversed(section):
        supplied = {part: supplied}
    problems = _problems(config_copy, overrides=supplied)
    assert [(p.path, p.layer) for p in problems] == [(setting, str(default))]
    assert "default layer must define every setting" in problems[0].message


def fault_every_problem_is_reported_at_once_with_its_own_layer(
    config_copy: Path, write_layer: Callable[[str, str], Path]
) -> None:
    env = write_layer("env/dev.yaml", "risk:\n  stale_data_seconds: 0\n")
    stress = write_layer("stress/bad.yaml", "execution:\n  seed: -1\n  surprise: true\n")
    problems = _problems(config_copy, stress=["bad"])
    assert {(p.path, p.layer) for p in problems} == {
        ("risk.stale_data_seconds", str(env)),
        ("execution.seed", str(stress)),
        ("execution.surprise", str(stress)),
    }


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"engine": "NOPE"}, "unknown engine 'NOPE'"),
        ({"engine": "main"}, "not a valid layer name"),
        ({"engine": "MAIN", "env": "staging"}, "unknown environment 'staging'"),
        ({"engine": "MAIN", "env": "../env/dev"}, "not a valid layer name"),
        ({"engine": "MAIN", "stress": ["nope"]}, "unknown stress profile 'nope'"),
    ],
)
def fault_unknown_layers_are_named_with_the_available_ones(
    shipped_config: Path, kwargs: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(UnknownLayerError) as info:
        load_config(shipped_config, **kwargs)
    assert fragment in str(info.value)
    assert "(available: " in str(info.value)
    assert info.value.reason_code == "CONFIG_UNKNOWN_LAYER"


def fault_an_unknown_risk_profile_named_by_the_engine_is_reported(
    config_copy: Path, write_layer: Callable[[str, str], Path]
) -> None:
    text = (config_copy / "engines" / "MAIN.yaml").read_text(encoding="utf-8")
    write_layer("engines/MAIN.yaml", text.replace("risk_profile: tier_a", "risk_profile: tier_z"))
    with pytest.raises(UnknownLayerError, match=r"unknown risk profile 'tier_z'.*tier_a, tier_b"):
        load_config(config_copy, engine="MAIN")


def fault_a_stress_profile_listed_twice_is_refused(shipped_config: Path) -> None:
    problems = _problems(shipped_config, stress=["slippage_x2", "slippage_x2"])
    assert problems == (
        ConfigProblem("stress", "profile 'slippage_x2' listed more than once", "<arguments>"),
    )


def fault_missing_directory_or_default_layer_is_a_file_error(
    tmp_path: Path, config_copy: Path
) -> None:
    with pytest.raises(ConfigFileError, match="config directory not found"):
        load_config(tmp_path / "absent", engine="MAIN")
    (config_copy / "default.yaml").unlink()
    with pytest.raises(ConfigFileError, match="missing default layer"):
        load_config(config_copy, engine="MAIN")


def fault_malformed_layer_file_names_file_and_line(
    config_copy: Path, write_layer: Callable[[str, str], Path]
) -> None:
    written = write_layer("stress/broken.yaml", "execution:\n  seed: 1\n  seed: 2\n")
    with pytest.raises(ConfigFileError) as info:
        load_config(config_copy, engine="MAIN", stress=["broken"])
    assert (info.value.path, info.value.line) == (str(written), 3)
    assert str(info.value).startswith(f"{written}, line 3, column 3: duplicate key 'seed'")


def invariant_every_config_error_shares_one_base_with_a_reason_code() -> None:
    for error in (UnknownLayerError, ConfigFileError, ConfigValidationError):
        assert issubclass(error, ConfigError)
        assert error.reason_code.startswith("CONFIG_")


def invariant_no_setting_has_a_default_in_code() -> None:
    from pydantic import BaseModel

    from mqk_config import Settings

    def walk(model: type[BaseModel], prefix: str) -> list[str]:
        found: list[str] = []
        for name, field in model.model_fields.items():
            if not field.is_required():
                found.append(prefix + name)
            annotation = field.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                found.extend(walk(annotation, f"{prefix}{name}."))
        return found

    assert walk(Settings, "") == []
