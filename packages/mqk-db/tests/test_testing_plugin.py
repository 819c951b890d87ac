"""The shared fixture gives each test a fresh, real database."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, inspect, text


def scenario_pg_url_is_a_fresh_postgresql_database_that_round_trips(pg_url: str) -> None:
    assert pg_url.startswith("postgresql+psycopg://")
    engine = create_engine(pg_url)
    try:
        assert inspect(engine).get_table_names() == []
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE probe (id integer PRIMARY KEY, note text)"))
            connection.execute(text("INSERT INTO probe VALUES (1, 'hello'), (2, 'world')"))
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT id, note FROM probe ORDER BY id")).all()
            version = connection.execute(text("SHOW server_version_num")).scalar_one()
    finally:
        engine.dispose()
    assert [tuple(r) for r in rows] == [(1, "hello"), (2, "world")]
    assert int(version) >= 150000


@pytest.mark.parametrize("attempt", [1, 2])
def scenario_every_test_starts_empty_even_after_another_wrote(db_url: str, attempt: int) -> None:
    engine = create_engine(db_url)
    try:
        assert inspect(engine).get_table_names() == []
        with engine.begin() as connection:
            connection.execute(text(f"CREATE TABLE written_by_attempt_{attempt} (id integer)"))
    finally:
        engine.dispose()
