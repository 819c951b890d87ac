"""mqk_db: SQLAlchemy models, Alembic migrations and run lifecycle."""

__version__ = "0.1.0"

__all__: list[str] = []
