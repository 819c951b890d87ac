"""Alembic, driven from code: the migration scripts ship inside the package (works from a wheel)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData, inspect, select
from sqlalchemy.exc import SQLAlchemyError

from mqk_db._connect import make_engine, normalise_url, redact_url
from mqk_db._models import Base, RunRow
from mqk_db.errors import DatabaseUnavailableError, MigrationRefusedError

__all__ = [
    "MigrationReport",
    "active_live_run_ids",
    "alembic_config",
    "current_revision",
    "downgrade",
    "head_revision",
    "migrate",
    "schema_diff",
]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


@dataclass(frozen=True, slots=True)
class MigrationReport:
    """What :func:`migrate` did: the revision before and after (None = empty database)."""

    before: str | None
    after: str | None

    @property
    def changed(self) -> bool:
        """True when at least one migration was applied."""
        return self.before != self.after


def alembic_config(url: str) -> Config:
    """An Alembic config for ``url`` with the packaged scripts (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolates '%', so a percent-encoded password must be escaped.
    config.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return config


def head_revision() -> str:
    """The newest revision shipped with this package."""
    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    if head is None:
        raise RuntimeError(f"no migration scripts found in {MIGRATIONS_DIR}")
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None for an empty database).

    Raises :class:`DatabaseUnavailableError` when the database cannot be opened.
    """
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except SQLAlchemyError as exc:
        raise _unavailable(engine.url.render_as_string(hide_password=False), exc) from exc


def _unavailable(url: str, exc: SQLAlchemyError) -> DatabaseUnavailableError:
    detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    return DatabaseUnavailableError(
        f"database {redact_url(url)} is unavailable: {detail}", {"database": redact_url(url)}
    )


def active_live_run_ids(engine: Engine) -> list[uuid.UUID]:
    """Ids of LIVE runs in ARMED or RUNNING (empty when the runs table does not exist yet)."""
    with engine.connect() as connection:
        if not inspect(connection).has_table(RunRow.__tablename__):
            return []
        rows = connection.execute(
            select(RunRow.run_id)
            .where(RunRow.mode == "LIVE", RunRow.status.in_(("ARMED", "RUNNING")))
            .order_by(RunRow.run_id)
        )
        return [row[0] for row in rows]


def migrate(url: str, *, allow_with_live_runs: bool = False) -> MigrationReport:
    """Upgrade the database at ``url`` to head; running it again changes nothing.

    Refused with :class:`MigrationRefusedError` (even when nothing is pending: the operator should
    not touch a live database's schema by accident) while a LIVE run is ARMED or RUNNING,
    unless ``allow_with_live_runs`` (the operator's explicit ``--yes``).
    """
    engine = make_engine(url)
    try:
        before = current_revision(engine)
        active = active_live_run_ids(engine)
        if active and not allow_with_live_runs:
            raise MigrationRefusedError(active)
    finally:
        engine.dispose()
    try:
        command.upgrade(alembic_config(url), "head")
    except SQLAlchemyError as exc:
        raise _unavailable(url, exc) from exc
    engine = make_engine(url)
    try:
        return MigrationReport(before=before, after=current_revision(engine))
    finally:
        engine.dispose()


def downgrade(url: str, revision: str = "base") -> None:
    """Downgrade the database at ``url`` to ``revision`` (``base`` drops everything)."""
    command.downgrade(alembic_config(url), revision)


def schema_diff(engine: Engine, metadata: MetaData = Base.metadata) -> list[Any]:
    """Differences between ``metadata`` (the models) and the database (empty when they agree)."""
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "render_as_batch": True}
        )
        return list(compare_metadata(context, metadata))
