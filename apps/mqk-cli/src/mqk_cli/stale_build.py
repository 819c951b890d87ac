"""Refuse to run compiled modules that were not built from the sources beside them.

``make compile`` builds the backtest's hot modules as C extensions next to their sources, and
Python imports an extension before its source. A source edited (or checked out) after the
build would silently run as its old compiled self: a changed risk rule not in effect. The
build writes each compiled module's source hash into a stamp (``src/.mypyc-stamp``, lines
``<module>.py <sha256>`` after its first two); an extension whose source no longer hashes to
its stamp's entry, or has none, is stale. About 30 small files are hashed, nothing imported.
"""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import Iterable
from pathlib import Path

__all__ = ["MQK_PACKAGES", "STAMP", "stale_extensions"]

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


STAMP = ".mypyc-stamp"
"""The stamp ``tools/compiled.py`` writes beside each compiled package."""


def stale_extensions(packages: Iterable[str] = MQK_PACKAGES) -> list[str]:
    """The modules (``package.module``) of ``packages`` whose extension was not built from
    the source beside it, in name order."""
    stale: set[str] = set()
    for package in packages:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            continue
        for folder in map(Path, spec.submodule_search_locations):
            built = _built_from(folder.parent / STAMP)
            for pattern in _EXTENSIONS:
                for extension in folder.glob(pattern):
                    source = extension.with_name(extension.name.split(".", 1)[0] + ".py")
                    if not source.is_file():
                        continue  # nothing it could shadow
                    digest = hashlib.sha256(source.read_bytes()).hexdigest()
                    if built.get(source.name) != digest:
                        stale.add(f"{package}.{source.stem}")
    return sorted(stale)


def _built_from(stamp: Path) -> dict[str, str]:
    """``module.py -> sha256`` of the sources a stamp says its extensions were built from."""
    if not stamp.is_file():
        return {}
    built = {}
    for line in stamp.read_text(encoding="utf-8").splitlines()[2:]:
        name, _, digest = line.partition(" ")
        built[name] = digest
    return built
