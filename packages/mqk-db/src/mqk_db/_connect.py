"""Database URLs and engines: SQLite by default (a file under ``./.mqk/``), PostgreSQL in prod."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from mqk_db.errors import DatabaseUnavailableError, DbInputError

__all__ = [
    "DATABASE_URL_ENV",
    "DEFAULT_SQLITE_PATH",
    "database_url",
    "make_engine",
    "normalise_url",
    "redact_url",
]

DATABASE_URL_ENV = "MQK_DATABASE_URL"
DEFAULT_SQLITE_PATH = Path(".mqk") / "mqk.db"


def database_url(environ: Mapping[str, str], cwd: Path) -> str:
    """The database URL: ``$MQK_DATABASE_URL`` when set, else ``sqlite:///<cwd>/.mqk/mqk.db``."""
    configured = environ.get(DATABASE_URL_ENV, "").strip()
    if configured:
        return normalise_url(configured)
    return f"sqlite:///{(cwd / DEFAULT_SQLITE_PATH).resolve()}"


def normalise_url(url: str) -> str:
    """Validate ``url`` and pin the driver: ``postgresql://`` becomes ``postgresql+psycopg://``."""
    parsed = _parse(url)
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif backend != "sqlite":
        raise DbInputError(
            f"database URL {redact_url(url)!r}: backend {backend!r} is not supported "
            "(use sqlite:///PATH or postgresql://...)",
            {"field": DATABASE_URL_ENV},
        )
    return parsed.render_as_string(hide_password=False)


def redact_url(url: str) -> str:
    """``url`` with any password replaced by ``***`` (safe for messages and logs)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine for ``url``.

    SQLite: the parent directory is created, foreign keys are enforced and every transaction
    starts with ``BEGIN IMMEDIATE`` so a read-then-write transaction cannot interleave with
    another writer. PostgreSQL: psycopg 3.
    """
    parsed = _parse(normalise_url(url))
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, **kwargs)
    return create_engine(parsed, pool_pre_ping=True, **kwargs)


def sqlite_file(url: str) -> Path | None:
    """The file an SQLite ``url`` names (None for another backend or an in-memory database):
    lets a caller that only reads tell "no database yet" from an empty one without creating
    the file, as connecting would."""
    parsed = _parse(normalise_url(url))
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    if database.startswith("file:"):
        return None
    return Path(database)


def _parse(url: str) -> URL:
    try:
        return make_url(url)
    except ArgumentError:
        raise DbInputError(
            f"database URL {redact_url(url)!r} is not a valid SQLAlchemy URL",
            {"field": DATABASE_URL_ENV},
        ) from None


def _sqlite_engine(url: URL, **kwargs: Any) -> Engine:
    database = url.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        try:
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseUnavailableError(
                f"database {url.render_as_string(hide_password=True)} is unavailable: cannot "
                f"create directory {Path(database).parent} ({exc.strerror or exc})",
                {"database": url.render_as_string(hide_password=True)},
            ) from None
    engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        # Take transaction control away from pysqlite so that BEGIN IMMEDIATE below is ours.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA busy_timeout = 30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
