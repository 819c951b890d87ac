"""Pytest plugin: every test gets a FRESH database, on PostgreSQL and on SQLite.

Enable it with ``pytest_plugins = ["mqk_db.testing"]`` in a tests' top-level conftest.py
(needs the ``testing`` extra: pytest and pytest-postgresql).

PostgreSQL: when ``MQK_TEST_DATABASE_URL`` is set (e.g.
``postgresql://postgres@127.0.0.1:5432/postgres``), that existing server is used and its
database in the URL serves as the maintenance database; otherwise pytest-postgresql starts
its own server (``postgresql_proc``, which cannot run as root). Each test gets its own
``CREATE DATABASE mqk_test_<random>``, dropped afterwards, so tests never share state.

Fixtures:

- ``pg_url``: SQLAlchemy URL (``postgresql+psycopg://...``) of a fresh, empty database
- ``sqlite_url``: SQLAlchemy URL of a fresh SQLite file in ``tmp_path``
- ``db_url``: parametrised over both backends (test ids ``sqlite`` and ``postgresql``)
- ``migrated_db_url``: like ``db_url`` but already migrated to head; for speed the
  migrations run once per session into a template (a PostgreSQL template database, a SQLite
  file) that each test's fresh database is copied from
- ``db_engine``: an engine on ``migrated_db_url`` (disposed afterwards)
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pytest_postgresql.janitor import DatabaseJanitor
from sqlalchemy import Engine
from sqlalchemy.engine import URL, make_url

from mqk_db._connect import make_engine
from mqk_db._migrate import migrate

__all__ = [
    "TEST_DATABASE_URL_ENV",
    "PgServer",
    "db_engine",
    "db_url",
    "migrated_db_url",
    "mqk_pg_server",
    "mqk_pg_template",
    "mqk_sqlite_template",
    "pg_url",
    "sqlite_url",
]

TEST_DATABASE_URL_ENV = "MQK_TEST_DATABASE_URL"


@dataclass(frozen=True, slots=True)
class PgServer:
    """Where test databases are created: a server and a database to run CREATE DATABASE in."""

    host: str
    port: int
    user: str
    password: str | None
    maintenance_dbname: str

    def url(self, dbname: str) -> str:
        """SQLAlchemy URL (psycopg 3) of database ``dbname`` on this server."""
        return URL.create(
            "postgresql+psycopg",
            username=self.user,
            password=self.password,
            host=self.host,
            port=self.port,
            database=dbname,
        ).render_as_string(hide_password=False)


def _server_from_url(url: str) -> PgServer:
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise pytest.UsageError(f"{TEST_DATABASE_URL_ENV} must be a postgresql:// URL")
    return PgServer(
        host=parsed.host or "127.0.0.1",
        port=parsed.port or 5432,
        user=parsed.username or "postgres",
        password=parsed.password if parsed.password is None else str(parsed.password),
        maintenance_dbname=parsed.database or "postgres",
    )


@pytest.fixture(scope="session")
def mqk_pg_server(request: pytest.FixtureRequest) -> PgServer:
    """The PostgreSQL server of this test session (existing one, or pytest-postgresql's)."""
    configured = os.environ.get(TEST_DATABASE_URL_ENV, "").strip()
    if configured:
        return _server_from_url(configured)
    proc = request.getfixturevalue("postgresql_proc")
    return PgServer(
        host=proc.host,
        port=int(proc.port),
        user=proc.user,
        password=proc.password,
        maintenance_dbname="postgres",
    )


@pytest.fixture
def pg_url(mqk_pg_server: PgServer) -> Iterator[str]:
    """URL of a fresh, empty PostgreSQL database, dropped after the test."""
    dbname = f"mqk_test_{uuid.uuid4().hex[:20]}"
    with _janitor(mqk_pg_server, dbname):
        yield mqk_pg_server.url(dbname)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """URL of a fresh SQLite database file in the test's temporary directory."""
    return f"sqlite:///{tmp_path / 'mqk-test.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    """A fresh, empty database on each backend in turn."""
    fixture = "sqlite_url" if request.param == "sqlite" else "pg_url"
    url: str = request.getfixturevalue(fixture)
    return url


def _janitor(server: PgServer, dbname: str, template: str | None = None) -> DatabaseJanitor:
    return DatabaseJanitor(
        user=server.user,
        host=server.host,
        port=server.port,
        dbname=dbname,
        template_dbname=template,
        password=server.password,
        maintenance_dbname=server.maintenance_dbname,
    )


@pytest.fixture(scope="session")
def mqk_pg_template(mqk_pg_server: PgServer) -> Iterator[str]:
    """Name of a PostgreSQL database migrated to head once per session (a template)."""
    dbname = f"mqk_tmpl_{uuid.uuid4().hex[:20]}"
    with _janitor(mqk_pg_server, dbname):
        migrate(mqk_pg_server.url(dbname))
        yield dbname


@pytest.fixture(scope="session")
def mqk_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once per session."""
    path = tmp_path_factory.mktemp("mqk-template") / "template.db"
    migrate(f"sqlite:///{path}")
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def migrated_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database migrated to head, on each backend in turn."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("mqk_sqlite_template")
        target = tmp_path / "mqk-test.db"
        shutil.copyfile(template, target)
        yield f"sqlite:///{target}"
        return
    server: PgServer = request.getfixturevalue("mqk_pg_server")
    template_name: str = request.getfixturevalue("mqk_pg_template")
    dbname = f"mqk_test_{uuid.uuid4().hex[:20]}"
    with _janitor(server, dbname, template_name):
        yield server.url(dbname)


@pytest.fixture
def db_engine(migrated_db_url: str) -> Iterator[Engine]:
    """An engine on a fresh, migrated database (each backend in turn)."""
    engine = make_engine(migrated_db_url)
    try:
        yield engine
    finally:
        engine.dispose()
