"""Command groups of mqk-cli; each module exposes one click group named ``group``.

Groups are imported only when used, so ``mqk-cli config hash`` does not pay for loading the
database, calendar and backtest stacks.
"""

from __future__ import annotations

import importlib

import click

__all__ = ["GROUP_MODULES", "command_groups", "load_group"]

GROUP_MODULES: dict[str, str] = {
    "config": "mqk_cli.commands.config",
    "data": "mqk_cli.commands.data",
    "backtest": "mqk_cli.commands.backtest",
    "db": "mqk_cli.commands.db",
    "run": "mqk_cli.commands.run",
    "reconcile": "mqk_cli.commands.reconcile",
}
"""Top-level command name -> module holding its click group, in help order."""


def load_group(name: str) -> click.Command:
    """Import and return the click group of command ``name``."""
    group: click.Command = importlib.import_module(GROUP_MODULES[name]).group
    return group


def command_groups() -> list[click.Command]:
    """Every top-level command group, in help order (imports all of them)."""
    return [load_group(name) for name in GROUP_MODULES]
