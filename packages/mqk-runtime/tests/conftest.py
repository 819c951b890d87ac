"""mqk-runtime tests: fresh databases from the mqk_db.testing plugin; shared builders in
``runtime_support.py`` (made importable here)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from mqk_db import make_engine

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

pytest_plugins = ["mqk_db.testing"]


@pytest.fixture
def sqlite_db(mqk_sqlite_template: Path, tmp_path: Path) -> Iterator[Engine]:
    """A migrated SQLite database in tmp_path (copied from the session template)."""
    target = tmp_path / "run.db"
    target.write_bytes(mqk_sqlite_template.read_bytes())
    engine = make_engine(f"sqlite:///{target}")
    try:
        yield engine
    finally:
        engine.dispose()
