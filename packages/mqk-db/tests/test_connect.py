"""Database URLs: SQLite under ./.mqk by default, MQK_DATABASE_URL overrides, secrets redacted."""

from __future__ import annotations

from pathlib import Path

import pytest

from mqk_db import (
    DatabaseUnavailableError,
    DbInputError,
    current_revision,
    database_url,
    make_engine,
    normalise_url,
    redact_url,
)


def unit_default_is_a_sqlite_file_under_dot_mqk(tmp_path: Path) -> None:
    assert database_url({}, tmp_path) == f"sqlite:///{tmp_path.resolve()}/.mqk/mqk.db"


def unit_environment_url_wins_and_postgres_gets_psycopg(tmp_path: Path) -> None:
    env = {"MQK_DATABASE_URL": "postgresql://u:pw@h:5432/db"}
    assert database_url(env, tmp_path) == "postgresql+psycopg://u:pw@h:5432/db"


@pytest.mark.parametrize("url", ["mysql://u@h/db", "not a url"])
def unit_unsupported_or_garbled_url_is_bad_input(url: str) -> None:
    with pytest.raises(DbInputError):
        normalise_url(url)


def unit_redacted_url_hides_the_password() -> None:
    assert redact_url("postgresql://u:secret@h/db") == "postgresql://u:***@h/db"


def unit_sqlite_engine_creates_the_directory_and_enforces_foreign_keys(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'nested' / 'dir' / 'x.db'}")
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()
    assert (tmp_path / "nested" / "dir").is_dir()


def fault_unopenable_sqlite_path_is_reported_as_unavailable() -> None:
    with pytest.raises(DatabaseUnavailableError) as refused:
        make_engine("sqlite:////dev/null/x/mqk.db")
    assert refused.value.reason_code == "DB_UNAVAILABLE"


def fault_unreachable_postgres_is_reported_with_a_redacted_url(pg_url: str) -> None:
    missing = pg_url.rsplit("/", 1)[0] + "/mqk_no_such_database"
    engine = make_engine(missing.replace("postgres@", "postgres:hunter2@"))
    try:
        with pytest.raises(DatabaseUnavailableError) as refused:
            current_revision(engine)
    finally:
        engine.dispose()
    assert "mqk_no_such_database" in refused.value.message
    assert "hunter2" not in refused.value.message
