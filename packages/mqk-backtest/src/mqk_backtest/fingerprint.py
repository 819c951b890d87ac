"""Provenance of a run: data hash, host fingerprint, package versions and a deterministic run id."""

from __future__ import annotations

import hashlib
import platform
import sys
import uuid
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

__all__ = ["data_file_hash", "deterministic_run_id", "host_fingerprint", "package_versions"]

_RUN_NAMESPACE = uuid.UUID("0c7c1b8e-3a52-4c1e-9d7e-2b8f3c1d5e61")


def data_file_hash(paths: Iterable[Path]) -> str:
    """SHA-256 over the bytes of every data file, in the order given (name-independent)."""
    digest = hashlib.sha256()
    for path in paths:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def deterministic_run_id(engine_id: str, config_hash: str, data_hash: str, seed: int) -> uuid.UUID:
    """A backtest's run id: the same inputs always name the same run."""
    return uuid.uuid5(_RUN_NAMESPACE, f"{engine_id}|{config_hash}|{data_hash}|{seed}")


def host_fingerprint() -> dict[str, str]:
    """What the run ran on (no host name, no secrets): interpreter, platform and machine."""
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "system": platform.system(),
        "machine": platform.machine(),
        "byteorder": sys.byteorder,
    }


def package_versions() -> dict[str, str]:
    """Installed versions of the MiniQuantDesk distributions and key libraries.

    The ``mqk-*`` distributions are found by their ``.dist-info`` folders on ``sys.path``
    (what :func:`importlib.metadata.distributions` walks), so only their own metadata is
    read, not that of every installed distribution (~50 ms a run)."""
    names = sorted(
        {
            info.name.split("-")[0].replace("_", "-")
            for entry in sys.path
            if entry and Path(entry).is_dir()
            for info in Path(entry).glob("mqk_*.dist-info")
        }
    )
    versions = {name: metadata.version(name) for name in names}
    for lib in ("polars", "numpy", "pydantic"):
        try:
            versions[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            continue
    return versions
