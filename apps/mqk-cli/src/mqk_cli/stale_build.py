"""Refuse to run compiled modules that are older than their sources.

``make compile`` builds the backtest's hot modules as C extensions next to their sources, and
Python imports an extension before its source. A source edited (or checked out) after the
build would silently run as its old compiled self: a changed risk rule not in effect. The
check is by modification time, a few ``stat`` calls, without importing anything.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable
from pathlib import Path

__all__ = ["MQK_PACKAGES", "stale_extensions"]

MQK_PACKAGES = (
    "mqk_schemas",
    "mqk_config",
    "mqk_integrity",
    "mqk_strategy",
    "mqk_portfolio",
    "mqk_risk",
    "mqk_isolation",
    "mqk_reconcile",
    "mqk_execution",
    "mqk_backtest",
    "mqk_db",
    "mqk_runtime",
)
"""The packages whose folders are looked at."""

_EXTENSIONS = ("*.so", "*.pyd")


def stale_extensions(packages: Iterable[str] = MQK_PACKAGES) -> list[str]:
    """The modules (``package.module``) of ``packages`` whose extension is older than the
    source beside it, in name order."""
    stale: set[str] = set()
    for package in packages:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            continue
        for folder in spec.submodule_search_locations:
            for pattern in _EXTENSIONS:
                for extension in Path(folder).glob(pattern):
                    source = extension.with_name(extension.name.split(".", 1)[0] + ".py")
                    if source.is_file() and source.stat().st_mtime > extension.stat().st_mtime:
                        stale.add(f"{package}.{source.stem}")
    return sorted(stale)
