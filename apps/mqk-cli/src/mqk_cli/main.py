"""Entry point of ``mqk-cli``."""

from __future__ import annotations

import sys

import click

from mqk_cli.commands import GROUP_MODULES, load_group
from mqk_cli.exit_codes import ExitCode
from mqk_cli.stale_build import stale_extensions

__all__ = ["cli"]

_VERSION = "0.1.0"


class _LazyGroup(click.Group):
    """A click group whose sub-groups are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(GROUP_MODULES)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in GROUP_MODULES:
            return None
        return load_group(cmd_name)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(_VERSION, prog_name="mqk-cli", message="%(prog)s %(version)s")
def cli() -> None:
    """MiniQuantDesk V4: a risk-first trading system that refuses to trade when unsafe."""
    stale = stale_extensions()
    if stale:
        click.echo(
            f"refused: compiled modules were not built from their sources ({', '.join(stale)}); "
            "run `make compile` to rebuild them, or `make clean` to run the sources",
            err=True,
        )
        sys.exit(ExitCode.REFUSED)


if __name__ == "__main__":
    cli()
