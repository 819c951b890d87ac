"""Printing helpers: rich tables for people, JSON for scripts, clean errors for mistakes."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

import click
from rich.console import Console
from rich.table import Table

from mqk_cli.exit_codes import ExitCode
from mqk_schemas import canonical_json

__all__ = ["console", "fail", "print_json", "print_table"]


_PIPE_WIDTH = 200
"""Columns a table may take when stdout is not a terminal (rich would assume 80 and cut a
64-character hash to "..."), unless $COLUMNS says otherwise."""


def console() -> Console:
    """A console on stdout (no colour when not a terminal, so output is stable in pipes)."""
    out = Console(highlight=False, soft_wrap=True)
    if not out.is_terminal and not os.environ.get("COLUMNS"):
        out = Console(highlight=False, soft_wrap=True, width=_PIPE_WIDTH)
    return out


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Print a titled table; a cell too wide for the screen wraps, it is never cut short (a
    trader copies hashes and ids out of these tables)."""
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column, overflow="fold")
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
