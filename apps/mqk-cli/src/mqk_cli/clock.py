"""The CLI's one clock: the real UTC time, or the one a caller (a test) supplies."""

from __future__ import annotations

from datetime import UTC, datetime

import click

__all__ = ["now_utc"]


def now_utc(ctx: click.Context) -> datetime:
    """The current time: ``ctx.obj["clock"]()`` when a caller (a test) supplies one."""
    obj = ctx.find_root().obj
    if isinstance(obj, dict) and callable(obj.get("clock")):
        value: datetime = obj["clock"]()
        return value
    return datetime.now(UTC)
