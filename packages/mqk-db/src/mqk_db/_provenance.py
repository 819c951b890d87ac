"""Run provenance read from the process environment: host fingerprint and git revision."""

from __future__ import annotations

import platform
import socket
import subprocess
from pathlib import Path

from mqk_schemas import sha256_hex

__all__ = ["git_revision", "host_fingerprint"]


def host_fingerprint() -> str:
    """A stable, non-identifying fingerprint of this host and interpreter (16 hex chars)."""
    parts = (socket.gethostname(), platform.machine(), platform.system(), platform.python_version())
    return sha256_hex("|".join(parts))[:16]


def git_revision(directory: Path) -> str:
    """The git commit checked out at ``directory`` (``+dirty`` if modified), or ``unknown``."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=directory,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=directory,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if not head:
        return "unknown"
    return f"{head}+dirty" if status else head
