"""Runtime tables: the paper broker's journal and the runtime's per-run state.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24

mqk-runtime used to create these on first use; they belong to the one migration set.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create the paper journal and runtime state tables."""
    op.create_table(
        "mqk_runtime_paper_journal",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("ts_utc", sa.String(40), nullable=False),
        sa.Column("payload_json", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_mqk_runtime_paper_journal"),
        sa.UniqueConstraint("run_id", "seq", name="uq_mqk_runtime_paper_journal_run_id_seq"),
    )
    op.create_table(
        "mqk_runtime_state",
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("feed_digest", sa.String(64), nullable=False),
        sa.Column("bars_total", sa.Integer(), nullable=False),
        sa.Column("bars_done", sa.Integer(), nullable=False),
        sa.Column("risk_state_json", sa.Text(), nullable=True),
        sa.Column("oms_json", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("run_id", name="pk_mqk_runtime_state"),
    )


def downgrade() -> None:
    """Drop both tables."""
    op.drop_table("mqk_runtime_state")
    op.drop_table("mqk_runtime_paper_journal")
