"""``mqk-cli config``: show and hash the effective layered configuration."""

from __future__ import annotations

from pathlib import Path

import click

from mqk_cli.exit_codes import ExitCode
from mqk_cli.output import fail, print_json
from mqk_config import ConfigError, EffectiveConfig, load_config, render_config_text

__all__ = ["group"]


def _load(config_dir: Path, engine: str, env: str, stress: tuple[str, ...]) -> EffectiveConfig:
    """Load the config, or exit 2 with every problem named by key path and layer file.

    A secret-like value is reported by key path, layer and a masked hint only; the value itself
    is never printed.
    """
    try:
        return load_config(config_dir, engine=engine, env=env, stress=stress)
    except ConfigError as exc:
        fail(str(exc), ExitCode.BAD_INPUT)


def _layer_options(command: click.decorators.FC) -> click.decorators.FC:
    """Options shared by every config command."""
    options = [
        click.option("--engine", required=True, help="Engine token, e.g. MAIN or EXP."),
        click.option("--env", default="dev", show_default=True, help="Environment layer."),
        click.option(
            "--stress",
            multiple=True,
            help="Stress profile applied after the risk profile (repeatable, in order).",
        ),
        click.option(
            "--config-dir",
            type=click.Path(file_okay=False, path_type=Path),
            envvar="MQK_CONFIG_DIR",
            default=Path("config"),
            show_default="$MQK_CONFIG_DIR or ./config",
            help="Directory holding default.yaml, env/, engines/, risk/ and stress/.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@click.group(name="config")
def group() -> None:
    """Inspect the layered configuration."""


@group.command(name="show")
@_layer_options
@click.option("--json", "as_json", is_flag=True, help="Print canonical JSON on one line.")
def show(engine: str, env: str, stress: tuple[str, ...], config_dir: Path, as_json: bool) -> None:
    """Print the effective config and its hash."""
    config = _load(config_dir, engine, env, stress)
    if as_json:
        print_json(
            {
                "config": config.settings,
                "config_hash": config.config_hash,
                "engine": config.engine_id,
                "env": config.env,
                "layers": [layer.source for layer in config.layers],
                "stress": list(config.stress),
            }
        )
    else:
        click.echo(render_config_text(config), nl=False)


@group.command(name="hash")
@_layer_options
@click.option("--json", "as_json", is_flag=True, help="Print engine, env, stress and hash as JSON.")
def hash_(engine: str, env: str, stress: tuple[str, ...], config_dir: Path, as_json: bool) -> None:
    """Print only the config hash (SHA-256 of the canonical JSON)."""
    config = _load(config_dir, engine, env, stress)
    if as_json:
        print_json(
            {
                "config_hash": config.config_hash,
                "engine": config.engine_id,
                "env": config.env,
                "stress": list(config.stress),
            }
        )
    else:
        click.echo(config.config_hash)
