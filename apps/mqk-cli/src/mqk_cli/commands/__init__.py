"""Command groups of mqk-cli; each module exposes one click group named ``group``."""

from __future__ import annotations

import click

__all__ = ["command_groups"]


def command_groups() -> list[click.Command]:
    """Every top-level command group, in help order."""
    from mqk_cli.commands import backtest, config, data, db, reconcile, run

    return [config.group, data.group, backtest.group, db.group, run.group, reconcile.group]
