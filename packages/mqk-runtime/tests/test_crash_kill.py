"""Crash safety with real kills: a paper run (a child process) SIGKILLs itself at a named point,
is resumed, and must end exactly where an uninterrupted run ends.

After every scenario: no client_order_id reached the broker twice (the paper broker's journal
records every submit it received), every broker fill was applied exactly once (inbox), and the
ledger (positions, cash, realised PnL, fees, every fill's economics) equals the uninterrupted
run's. One scenario repeats on PostgreSQL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from runtime_support import SCENARIOS, Harness, ledger_outcome
from sqlalchemy import Engine

from mqk_db import get_run, list_runs, make_engine, migrate
from mqk_portfolio import EngineLedger
from mqk_runtime import FAILPOINT_ENV, EngineComponents, PaperBroker, PaperJournal, RunStore
from mqk_schemas import RunStatus

WORKER = Path(__file__).resolve().parent / "_crash_worker.py"


def _child(url: str, run: str, scenario: str, failpoint: str | None) -> int:
    env = {k: v for k, v in os.environ.items() if k != FAILPOINT_ENV}
    if failpoint is not None:
        env[FAILPOINT_ENV] = failpoint
    done = subprocess.run(
        [sys.executable, str(WORKER), url, run, scenario],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode not in (0, -signal.SIGKILL):
        raise AssertionError(f"worker failed ({done.returncode}):\n{done.stderr}")
    return done.returncode


@pytest.fixture(scope="module")
def baselines(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The ledger outcome of an uninterrupted run of each scenario."""
    outcomes: dict[str, Any] = {}
    for name, build in SCENARIOS.items():
        url = f"sqlite:///{tmp_path_factory.mktemp('baseline') / 'base.db'}"
        migrate(url)
        db = make_engine(url)
        cfg, bars, faults = build()
        runtime = Harness(db, cfg, bars, faults=faults).start()
        runtime.run_feed()
        outcomes[name] = ledger_outcome(runtime)
        db.dispose()
    return outcomes


def _kill_and_resume(
    url: str, scenario: str, failpoints: tuple[str, ...], expected: dict[str, Any]
) -> uuid.UUID:
    """Kill the run at each failpoint in turn (each restart resumes it), checking the
    invariants after every kill, then let it finish."""
    run = "-"
    for point in failpoints:
        assert _child(url, run, scenario, point) == -signal.SIGKILL, f"{point} never fired"
        db = make_engine(url)
        try:
            if run == "-":
                run = str(list_runs(db, engine_id="MAIN")[-1].run_id)
            _check(db, uuid.UUID(run), scenario, None)
        finally:
            db.dispose()
    assert _child(url, run, scenario, None) == 0
    db = make_engine(url)
    try:
        _check(db, uuid.UUID(run), scenario, expected)
    finally:
        db.dispose()
    return uuid.UUID(run)


def _check(db: Engine, run_id: uuid.UUID, scenario: str, expected: dict[str, Any] | None) -> None:
    """No client_order_id submitted twice; every broker fill applied once (a killed run: no
    fill applied that the broker lacks, none twice); finished: the uninterrupted ledger."""
    cfg, _bars, _faults = SCENARIOS[scenario]()
    run = get_run(db, run_id)
    submits = Counter(
        e.payload["intent"]["client_order_id"]
        for e in PaperJournal(db, run_id).entries()
        if e.kind == "SUBMIT"
    )
    twice = [coid for coid, n in submits.items() if n > 1]
    assert twice == [], f"submitted twice: {twice}"
    components = EngineComponents.from_config(cfg)
    broker = PaperBroker(
        components.execution,
        journal=PaperJournal(db, run_id),
        clock=lambda: run.created_at,
        account_id=components.account_id,
        starting_cash=components.starting_cash,
    )
    broker_fills = {f.broker_fill_id: f for f in broker.snapshot().fills}
    applied = RunStore(db, run_id, "MAIN").fills(applied=True)
    ids = [f.broker_fill_id for f in applied]
    assert len(ids) == len(set(ids))
    assert all(broker_fills[f.broker_fill_id] == f for f in applied)
    if expected is None:
        assert run.status is RunStatus.RUNNING
        return
    assert (run.status, run.halt_reason) == (RunStatus.STOPPED, None)
    assert submits
    assert sorted(ids) == sorted(broker_fills)
    ledger = EngineLedger.replay("MAIN", Decimal(100000), applied)
    assert ledger_outcome(ledger) == expected


CHAINS = {
    "sma-every-point": (
        "sma",
        (
            "before_outbox_commit",
            "after_outbox_commit",
            "before_broker_submit",
            "after_broker_submit",
            "mid_fill_apply",
            "after_bar_journal:4",
            "after_fill_apply:2",
            "before_cycle_commit:6",
        ),
    ),
    "duplicated-reversed-fills": ("flip", ("mid_fill_apply:3", "after_outbox_commit:4")),
}


@pytest.mark.parametrize("chain", list(CHAINS))
def fault_sigkill_at_every_point_then_resume_matches_the_uninterrupted_run(
    tmp_path: Path, baselines: dict[str, Any], chain: str
) -> None:
    scenario, failpoints = CHAINS[chain]
    url = f"sqlite:///{tmp_path / 'crash.db'}"
    migrate(url)
    _kill_and_resume(url, scenario, failpoints, baselines[scenario])


def fault_sigkill_then_resume_on_postgresql(pg_url: str, baselines: dict[str, Any]) -> None:
    migrate(pg_url)
    _kill_and_resume(pg_url, "sma", ("after_outbox_commit:2", "mid_fill_apply:3"), baselines["sma"])
