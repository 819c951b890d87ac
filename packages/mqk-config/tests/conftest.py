"""Shared fixtures: the shipped config/ (found from this file, not the cwd) and editable copies."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
SHIPPED_CONFIG = REPO_ROOT / "config"


@pytest.fixture
def shipped_config() -> Path:
    """The repository's own config/ directory."""
    assert (SHIPPED_CONFIG / "default.yaml").is_file(), SHIPPED_CONFIG
    return SHIPPED_CONFIG


@pytest.fixture
def config_copy(tmp_path: Path, shipped_config: Path) -> Path:
    """A private copy of the shipped config/ that a test may edit."""
    target = tmp_path / "config"
    shutil.copytree(shipped_config, target)
    return target


@pytest.fixture
def write_layer(config_copy: Path) -> Callable[[str, str], Path]:
    """Write or replace a layer file of the copy: ``write_layer("stress/x.yaml", text)``."""

    def write(relative: str, text: str) -> Path:
        path = config_copy / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    return write
