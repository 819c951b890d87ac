"""One migration set, on both backends: upgrade, idempotent re-upgrade, downgrade, agreement."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, inspect

import mqk_db
from mqk_db import (
    Base,
    MigrationRefusedError,
    alembic_config,
    arm_run,
    current_revision,
    downgrade,
    head_revision,
    make_engine,
    migrate,
    schema_diff,
)
from mqk_schemas import RunMode

Kit = Any

TABLES = {
    "alembic_version",
    "arm_state",
    "mqk_runtime_paper_journal",
    "mqk_runtime_state",
    "audit_events",
    "broker_inbox",
    "order_outbox",
    "reconcile_checkpoints",
    "runs",
}


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def scenario_upgrade_on_empty_database_then_again_is_a_no_op(db_url: str) -> None:
    first = migrate(db_url)
    assert (first.before, first.after, first.changed) == (None, head_revision(), True)
    assert _tables(db_url) == TABLES
    second = migrate(db_url)
    assert (second.before, second.after, second.changed) == (head_revision(),) * 2 + (False,)
    assert _tables(db_url) == TABLES


def scenario_downgrade_to_base_then_upgrade_again(db_url: str) -> None:
    migrate(db_url)
    downgrade(db_url, "base")
    assert _tables(db_url) == {"alembic_version"}
    engine = make_engine(db_url)
    try:
        assert current_revision(engine) is None
    finally:
        engine.dispose()
    assert migrate(db_url).after == head_revision()
    assert _tables(db_url) == TABLES


def invariant_models_and_migrations_agree(db_url: str) -> None:
    migrate(db_url)
    engine = make_engine(db_url)
    try:
        assert schema_diff(engine) == []
    finally:
        engine.dispose()


def unit_schema_diff_sees_a_model_the_migrations_lack(sqlite_url: str) -> None:
    migrate(sqlite_url)
    extended = MetaData()
    for table in Base.metadata.tables.values():
        table.to_metadata(extended)
    Table("positions", extended, Column("id", Integer, primary_key=True))
    engine = make_engine(sqlite_url)
    try:
        diff = schema_diff(engine, extended)
    finally:
        engine.dispose()
    assert [(d[0], d[1].name) for d in diff] == [("add_table", "positions")]


def scenario_migrate_refuses_while_a_live_run_is_active_unless_told_yes(
    db_url: str, kit: Kit
) -> None:
    migrate(db_url)
    engine = make_engine(db_url)
    try:
        kit.reconcile(engine)
        run = kit.new_run(engine, RunMode.LIVE)
        paper = kit.new_run(engine, RunMode.PAPER)
        arm_run(engine, paper.run_id, kit.inputs(), now=kit.T0)
        assert migrate(db_url).changed is False
        arm_run(engine, run.run_id, kit.inputs(), confirmation=kit.PHRASE, now=kit.T0)
    finally:
        engine.dispose()
    with pytest.raises(MigrationRefusedError) as refused:
        migrate(db_url)
    assert refused.value.active_run_ids == (run.run_id,)
    assert migrate(db_url, allow_with_live_runs=True).after == head_revision()


def unit_alembic_config_is_absolute_inside_the_package_and_escapes_percent() -> None:
    url = "postgresql://trader:p%40ss%25word@db.example:5432/mqk"
    config = alembic_config(url)
    location = Path(config.get_main_option("script_location") or "")
    assert location.is_absolute()
    assert location == Path(mqk_db.__file__).resolve().parent / "migrations"
    assert (location / "env.py").is_file()
    assert config.get_main_option("sqlalchemy.url") == (
        "postgresql+psycopg://trader:p%40ss%25word@db.example:5432/mqk"
    )


def unit_migration_scripts_ship_inside_the_package() -> None:
    versions = Path(mqk_db.__file__).resolve().parent / "migrations" / "versions"
    assert sorted(p.name for p in versions.glob("*.py")) == [
        "r0001_initial.py",
        "r0002_runtime_tables.py",
        "r0003_backtest_runs.py",
    ]
    assert head_revision() == "0003"
