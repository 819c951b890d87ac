"""The runtime's own tables (SQLAlchemy Core, on the run database's engine).

mqk-db owns the shared schema (runs, outbox, inbox, audit, reconcile, arm state) and its
migrations; these two tables belong to this package and are created on first use:

- ``mqk_runtime_paper_journal``: every request the paper broker received (submit, cancel,
  replace) and every bar it processed, in order, per run. Replaying it into a fresh SimBroker
  rebuilds the broker exactly, so a paper run survives restarts.
- ``mqk_runtime_state``: per run, the cycle cursor (bars completed), the digest of the bars it
  runs on, the risk engine's state and the OMS view at the end of the last completed cycle.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
)

__all__ = ["PAPER_JOURNAL", "RUNTIME_METADATA", "RUNTIME_STATE", "ensure_runtime_tables"]

RUNTIME_METADATA = MetaData(
    naming_convention={
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)

_Id = BigInteger().with_variant(Integer(), "sqlite")

PAPER_JOURNAL = Table(
    "mqk_runtime_paper_journal",
    RUNTIME_METADATA,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("run_id", Uuid(), nullable=False),
    Column("seq", Integer(), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("ts_utc", String(40), nullable=False),
    Column("payload_json", Text(), nullable=False),
    UniqueConstraint("run_id", "seq"),
)

RUNTIME_STATE = Table(
    "mqk_runtime_state",
    RUNTIME_METADATA,
    Column("run_id", Uuid(), primary_key=True),
    Column("feed_digest", String(64), nullable=False),
    Column("bars_total", Integer(), nullable=False),
    Column("bars_done", Integer(), nullable=False),
    Column("risk_state_json", Text(), nullable=True),
    Column("oms_json", Text(), nullable=True),
    Column("updated_at", String(40), nullable=False),
)


def ensure_runtime_tables(engine: Engine) -> None:
    """Create the runtime tables when missing (idempotent)."""
    RUNTIME_METADATA.create_all(engine, checkfirst=True)
