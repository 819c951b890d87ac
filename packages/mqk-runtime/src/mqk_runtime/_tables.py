"""The runtime's two tables, owned by mqk-db's migration set (revision 0002).

- ``mqk_runtime_paper_journal``: every request the paper broker received (submit, cancel,
  replace) and every bar it processed, in order, per run. Replaying it into a fresh SimBroker
  rebuilds the broker exactly, so a paper run survives restarts.
- ``mqk_runtime_state``: per run, the cycle cursor (bars completed), the digest of the bars it
  runs on, the risk engine's state and the OMS view at the end of the last completed cycle.
"""

from __future__ import annotations

from sqlalchemy import Engine, Table, inspect

from mqk_db import PaperJournalRow, RuntimeStateRow
from mqk_runtime.errors import RuntimeInputError

__all__ = ["PAPER_JOURNAL", "RUNTIME_STATE", "ensure_runtime_tables"]

PAPER_JOURNAL: Table = PaperJournalRow.__table__  # type: ignore[assignment]
RUNTIME_STATE: Table = RuntimeStateRow.__table__  # type: ignore[assignment]


def ensure_runtime_tables(engine: Engine) -> None:
    """Refuse a database whose schema predates the runtime tables (run ``db migrate``)."""
    present = set(inspect(engine).get_table_names())
    missing = sorted({PAPER_JOURNAL.name, RUNTIME_STATE.name} - present)
    if missing:
        raise RuntimeInputError(
            f"the database has no {', '.join(missing)} table: migrate it first (mqk-cli db migrate)"
        )
