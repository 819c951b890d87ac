"""Alembic environment of mqk-db: online migrations only, batch mode for SQLite."""

from __future__ import annotations

from alembic import context

from mqk_db._connect import make_engine
from mqk_db._models import Base

config = context.config


def _run_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("mqk-db migrations need sqlalchemy.url; use mqk_db.migrate()")
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context.configure(
                connection=connection,
                target_metadata=Base.metadata,
                render_as_batch=True,
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("mqk-db migrations run online only (triggers differ per backend)")
_run_online()
