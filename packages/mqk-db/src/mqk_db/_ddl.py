"""Guard-trigger DDL shared by the migrations (PostgreSQL and SQLite spellings of one rule).

A rule is (name, table, timing, WHEN condition, message): when the condition holds for a row,
the statement is refused with the message, whatever client issued it (raw SQL included).
"""

from __future__ import annotations

from alembic import op

__all__ = [
    "LEGAL_RUN_TRANSITION",
    "LEGAL_RUN_TRANSITION_WITH_BACKTEST",
    "create_rule",
    "drop_rule",
]

LEGAL_RUN_TRANSITION = (
    "(OLD.status = 'CREATED' AND NEW.status = 'ARMED')"
    " OR (OLD.status = 'ARMED' AND NEW.status IN ('RUNNING', 'HALTED'))"
    " OR (OLD.status = 'RUNNING' AND NEW.status IN ('STOPPED', 'HALTED'))"
    " OR (OLD.status = 'HALTED' AND NEW.status = 'STOPPED')"
)
"""Run transitions of revision 0001: CREATED -> ARMED -> RUNNING -> STOPPED, ARMED or RUNNING ->
HALTED -> STOPPED."""

LEGAL_RUN_TRANSITION_WITH_BACKTEST = (
    LEGAL_RUN_TRANSITION + " OR (OLD.status = 'CREATED' AND NEW.status = 'RUNNING'"
    " AND NEW.mode = 'BACKTEST')"
)
"""Revision 0003: a BACKTEST run (which never reaches a broker) starts without being armed."""


def create_rule(name: str, table: str, timing: str, condition: str, message: str) -> None:
    """Install one guard trigger on the current connection's dialect."""
    if op.get_bind().dialect.name == "postgresql":
        # PostgreSQL has no NEW in DELETE triggers and no OLD in INSERT triggers, like SQLite.
        returns = "OLD" if timing.endswith("DELETE") else "NEW"
        op.execute(
            f"""
            CREATE OR REPLACE FUNCTION {name}_fn() RETURNS trigger LANGUAGE plpgsql AS $fn$
            BEGIN
                IF {condition} THEN
                    RAISE EXCEPTION USING ERRCODE = 'check_violation', MESSAGE = '{message}';
                END IF;
                RETURN {returns};
            END
            $fn$
            """
        )
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        op.execute(
            f"CREATE TRIGGER {name} {timing} ON {table} FOR EACH ROW EXECUTE FUNCTION {name}_fn()"
        )
        return
    # SQLite spells the null-safe comparison IS NOT (IS DISTINCT FROM needs SQLite >= 3.39).
    condition = condition.replace(" IS DISTINCT FROM ", " IS NOT ")
    op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute(
        f"CREATE TRIGGER {name} {timing} ON {table} FOR EACH ROW WHEN {condition} "
        f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
    )


def drop_rule(name: str, table: str) -> None:
    """Remove one guard trigger (and its PostgreSQL function)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS {name}_fn()")
    else:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
