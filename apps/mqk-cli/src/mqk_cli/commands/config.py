"""``mqk-cli config``: show and hash the effective configuration (built by the config issue)."""

from __future__ import annotations

import click

__all__ = ["group"]


@click.group(name="config")
def group() -> None:
    """Inspect the layered configuration."""
