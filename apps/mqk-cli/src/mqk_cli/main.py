"""Entry point of ``mqk-cli``."""

from __future__ import annotations

import click

from mqk_cli.commands import command_groups

__all__ = ["cli"]

_VERSION = "0.1.0"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(_VERSION, prog_name="mqk-cli", message="%(prog)s %(version)s")
def cli() -> None:
    """MiniQuantDesk V4: a risk-first trading system that refuses to trade when unsafe."""


for _group in command_groups():
    cli.add_command(_group)
