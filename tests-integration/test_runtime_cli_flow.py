"""The operator's paper flow across packages, on SQLite and on PostgreSQL.

``mqk-cli run paper`` (migrates, runs, stops) -> the paper broker's own view of the account as a
snapshot file -> ``mqk-cli reconcile check`` against the engine's stored state: CLEAN, and the
run's audit chain verifies.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from mqk_cli import cli
from mqk_config import load_config
from mqk_db import ReconcileCheckpointRow, audit_events, get_run, make_engine, verify_run_audit
from mqk_integrity import synth_bars, write_bars
from mqk_runtime import EngineComponents, PaperBroker, PaperJournal
from mqk_schemas import RunStatus, Timeframe

CONFIG_DIR = Path(__file__).resolve().parents[1] / "config"


def scenario_paper_run_then_reconcile_check_is_clean(db_url: str, tmp_path: Path) -> None:
    bars = tmp_path / "AAPL.csv"
    frame = synth_bars(
        symbols=["AAPL"], timeframe=Timeframe.D1, start=date(2024, 1, 2), bars=120, seed=5
    )
    write_bars(frame, bars)
    env = {"MQK_DATABASE_URL": db_url, "MQK_CONFIG_DIR": str(CONFIG_DIR)}
    runner = CliRunner()
    paper = runner.invoke(
        cli, ["run", "paper", "--engine", "MAIN", "--bars", str(bars), "--json"], env=env
    )
    assert paper.exit_code == 0, paper.stderr
    summary = json.loads(paper.stdout)
    run_id = uuid.UUID(summary["run_id"])
    assert summary["orders"] == summary["fills"] > 0

    db = make_engine(db_url)
    try:
        components = EngineComponents.from_config(load_config(CONFIG_DIR, engine="MAIN"))
        after = frame.row(len(frame) - 1).ts_close_utc + timedelta(hours=1)
        broker = PaperBroker(
            components.execution,
            journal=PaperJournal(db, run_id),
            clock=lambda: after,
            account_id=components.account_id,
            starting_cash=components.starting_cash,
        )
        snapshot = tmp_path / "broker.json"
        snapshot.write_text(broker.snapshot().model_dump_json(), encoding="utf-8")
        check = runner.invoke(
            cli,
            ["reconcile", "check", "--engine", "MAIN", "--snapshot", str(snapshot), "--json"],
            env=env,
        )
        assert check.exit_code == 0, check.stdout + check.stderr
        result = json.loads(check.stdout)
        assert (result["status"], result["run_id"]) == ("CLEAN", str(run_id))
        assert result["fills_compared"] == summary["fills"]

        assert get_run(db, run_id).status is RunStatus.STOPPED
        assert verify_run_audit(db, run_id).ok
        events = Counter(e.event_type for e in audit_events(db, run_id))
        assert events["ORDER_SENT"] == events["FILL_APPLIED"] == summary["fills"]
        with Session(db) as session:
            results = set(session.scalars(select(ReconcileCheckpointRow.result)))
        assert results == {"CLEAN"}
    finally:
        db.dispose()
