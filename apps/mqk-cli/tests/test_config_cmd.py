"""``mqk-cli config show|hash``: exit 0 with the effective config, exit 2 with a clear message."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from mqk_cli.commands.config import group
from mqk_config import Settings, load_config

REPO_ROOT = Path(__file__).resolve().parents[3]
SHIPPED_CONFIG = REPO_ROOT / "config"
_FAKE_SECRET = "sk-" + "Zx81" * 6


def _run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(group, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def config_copy(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(SHIPPED_CONFIG, target)
    return target


def scenario_show_prints_every_section_and_the_hash() -> None:
    code, out, err = _run("show", "--engine", "MAIN", "--config-dir", str(SHIPPED_CONFIG))
    expected = load_config(SHIPPED_CONFIG, engine="MAIN")
    assert (code, err) == (0, "")
    assert out.splitlines()[-1] == f"config_hash: {expected.config_hash}"
    for section in Settings.model_fields:
        assert f"{section}:" in out.splitlines()
    assert "  daily_loss_limit: 0.02" in out.splitlines()


def scenario_show_json_is_canonical_and_round_trips_exactly() -> None:
    code, out, _ = _run(
        "show",
        "--engine",
        "EXP",
        "--env",
        "prod",
        "--stress",
        "slippage_x2",
        "--stress",
        "latency_high",
        "--config-dir",
        str(SHIPPED_CONFIG),
        "--json",
    )
    expected = load_config(
        SHIPPED_CONFIG, engine="EXP", env="prod", stress=["slippage_x2", "latency_high"]
    )
    assert code == 0
    document = json.loads(out, parse_float=Decimal)
    assert document["config_hash"] == expected.config_hash
    assert (document["engine"], document["env"]) == ("EXP", "prod")
    assert document["stress"] == ["slippage_x2", "latency_high"]
    assert document["layers"] == [layer.source for layer in expected.layers]
    assert Settings.model_validate(document["config"]) == expected.settings
    assert f'"config":{expected.canonical_json},' in out


def scenario_hash_prints_only_the_hash() -> None:
    code, out, err = _run("hash", "--engine", "MAIN", "--config-dir", str(SHIPPED_CONFIG))
    assert (code, err) == (0, "")
    assert out == load_config(SHIPPED_CONFIG, engine="MAIN").config_hash + "\n"


def scenario_config_dir_comes_from_the_environment_variable(config_copy: Path) -> None:
    (config_copy / "stress" / "mine.yaml").write_text("backtest:\n  seed: 1\n", encoding="utf-8")
    code, out, _ = _run(
        "hash", "--engine", "MAIN", "--stress", "mine", env={"MQK_CONFIG_DIR": str(config_copy)}
    )
    assert code == 0
    assert out.strip() == load_config(config_copy, engine="MAIN", stress=["mine"]).config_hash


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--engine", "NOPE"], "unknown engine 'NOPE'"),
        (["--engine", "MAIN", "--env", "staging"], "unknown environment 'staging'"),
        (["--engine", "MAIN", "--stress", "nope"], "unknown stress profile 'nope'"),
    ],
)
@pytest.mark.parametrize("command", ["show", "hash"])
def fault_unknown_layers_exit_2_with_a_message(
    command: str, args: list[str], fragment: str
) -> None:
    code, out, err = _run(command, *args, "--config-dir", str(SHIPPED_CONFIG))
    assert code == 2
    assert out == ""
    assert err.startswith("error: ")
    assert fragment in err
    assert "Traceback" not in err


def fault_unknown_key_exits_2_naming_path_and_layer(config_copy: Path) -> None:
    layer = config_copy / "stress" / "typo.yaml"
    layer.write_text("risk:\n  reject_storm:\n    max_rejcts: 3\n", encoding="utf-8")
    code, out, err = _run(
        "show", "--engine", "MAIN", "--stress", "typo", "--config-dir", str(config_copy)
    )
    assert (code, out) == (2, "")
    assert f"risk.reject_storm.max_rejcts: unknown key (layer {layer})" in err


def fault_malformed_yaml_exits_2_naming_file_and_line(config_copy: Path) -> None:
    layer = config_copy / "env" / "dev.yaml"
    layer.write_text("broker:\n  name: sim\n  name: sim\n", encoding="utf-8")
    code, _, err = _run("hash", "--engine", "MAIN", "--config-dir", str(config_copy))
    assert code == 2
    assert f"{layer}, line 3" in err


@pytest.mark.parametrize("command", ["show", "hash"])
def fault_secret_exits_2_redacted_and_never_printed(config_copy: Path, command: str) -> None:
    layer = config_copy / "stress" / "leak.yaml"
    layer.write_text(f"engine:\n  keys_env:\n    api_secret: {_FAKE_SECRET}\n", encoding="utf-8")
    code, out, err = _run(
        command, "--engine", "MAIN", "--stress", "leak", "--config-dir", str(config_copy)
    )
    assert code == 2
    assert out == ""
    assert "CONFIG_SECRET_DETECTED" in err
    assert "engine.keys_env.api_secret" in err
    assert str(layer) in err
    assert "sk-…(redacted)" in err
    assert _FAKE_SECRET not in err
    assert "Zx81" not in err


def fault_missing_engine_option_is_a_usage_error_exit_2() -> None:
    code, _, err = _run("show", "--config-dir", str(SHIPPED_CONFIG))
    assert code == 2
    assert "Missing option '--engine'" in err


def fault_missing_config_dir_exits_2(tmp_path: Path) -> None:
    code, _, err = _run("hash", "--engine", "MAIN", "--config-dir", str(tmp_path / "absent"))
    assert code == 2
    assert "config directory not found" in err


def contract_config_group_is_registered_on_the_cli() -> None:
    from mqk_cli.main import cli

    result = CliRunner().invoke(
        cli, ["config", "hash", "--engine", "MAIN", "--config-dir", str(SHIPPED_CONFIG)]
    )
    assert result.exit_code == 0
    assert result.stdout.strip() == load_config(SHIPPED_CONFIG, engine="MAIN").config_hash


def contract_config_hash_json_names_what_was_hashed() -> None:
    import json

    from click.testing import CliRunner

    from mqk_cli import cli

    config_dir = Path(__file__).resolve().parents[3] / "config"
    args = ["config", "hash", "--engine", "MAIN", "--stress", "slippage_x2"]
    plain = CliRunner().invoke(cli, [*args, "--config-dir", str(config_dir)])
    as_json = CliRunner().invoke(cli, [*args, "--config-dir", str(config_dir), "--json"])
    assert (plain.exit_code, as_json.exit_code) == (0, 0)
    assert json.loads(as_json.stdout) == {
        "config_hash": plain.stdout.strip(),
        "engine": "MAIN",
        "env": "dev",
        "stress": ["slippage_x2"],
    }
