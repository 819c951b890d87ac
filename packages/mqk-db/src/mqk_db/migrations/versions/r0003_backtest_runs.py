"""BACKTEST runs start without arming: CREATED -> RUNNING is legal for mode BACKTEST only.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24

A backtest never reaches a broker, so it is never armed (arming one would also move the
engine's arm switch away from a live run). Every other rule stays: PAPER and LIVE runs still
go CREATED -> ARMED -> RUNNING, STOPPED is terminal, and the mode of a run never changes.
"""

from __future__ import annotations

from collections.abc import Sequence

from mqk_db._ddl import LEGAL_RUN_TRANSITION, LEGAL_RUN_TRANSITION_WITH_BACKTEST, create_rule

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NAME = "trg_runs_legal_transition"
_MESSAGE = "MQK_ILLEGAL_TRANSITION: illegal run status transition"


def upgrade() -> None:
    """Let a BACKTEST run go straight from CREATED to RUNNING."""
    create_rule(
        _NAME,
        "runs",
        "BEFORE UPDATE",
        f"NEW.status <> OLD.status AND NOT ({LEGAL_RUN_TRANSITION_WITH_BACKTEST})",
        _MESSAGE,
    )


def downgrade() -> None:
    """Back to the transitions of revision 0001."""
    create_rule(
        _NAME,
        "runs",
        "BEFORE UPDATE",
        f"NEW.status <> OLD.status AND NOT ({LEGAL_RUN_TRANSITION})",
        _MESSAGE,
    )
