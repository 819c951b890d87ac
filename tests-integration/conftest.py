"""Integration tests: fresh PostgreSQL / SQLite databases per test from the mqk_db.testing plugin.

Fixtures ``pg_url``, ``sqlite_url``, ``db_url`` (both backends), ``migrated_db_url`` and
``db_engine``; set ``MQK_TEST_DATABASE_URL`` to use an existing PostgreSQL server.
"""

pytest_plugins = ["mqk_db.testing"]
