"""Printing helpers: rich tables for people, JSON for scripts, clean errors for mistakes."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

import click
from rich.console import Console
from rich.table import Table

from mqk_cli.exit_codes import ExitCode
from mqk_schemas import canonical_json

__all__ = ["console", "fail", "print_json", "print_table"]


def console() -> Console:
    """A console on stdout (no colour when not a terminal, so output is stable in pipes)."""
    return Console(highlight=False, soft_wrap=True)


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Print a titled table."""
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(str(cell) for cell in row))
    console().print(table)


def print_json(value: Any) -> None:
    """Print ``value`` as canonical JSON on one line."""
    click.echo(canonical_json(value))


def fail(message: str, code: ExitCode, details: Mapping[str, Any] | None = None) -> NoReturn:
    """Print an error for a trader (no traceback) to stderr and exit with ``code``."""
    click.echo(f"error: {message}", err=True)
    for key, value in (details or {}).items():
        click.echo(f"  {key}: {value}", err=True)
    sys.exit(int(code))
