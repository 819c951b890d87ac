"""Race: 16 processes arm 16 LIVE runs of one engine at the same moment; exactly one wins."""

from __future__ import annotations

import importlib
import multiprocessing
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from mqk_db import (
    get_run,
    halt_run,
    list_runs,
    make_engine,
    migrate,
    stop_run,
)
from mqk_schemas import RunMode, RunStatus

Kit = Any

PROCESSES = 16
ROUNDS = 20


def fault_sixteen_processes_arming_live_runs_of_one_engine_leave_exactly_one_active(
    pg_url: str, kit: Kit, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    worker = importlib.import_module("_race_worker")
    migrate(pg_url)
    engine: Engine = make_engine(pg_url)
    context = multiprocessing.get_context("forkserver")
    # The fork server imports SQLAlchemy, psycopg and mqk_db once; each of the 16 processes is
    # then forked from that clean, single-threaded server (not from pytest), so starting them
    # costs milliseconds instead of 16 fresh interpreters importing everything on 2 cores.
    context.set_forkserver_preload(["mqk_db", "psycopg", "sqlalchemy.dialects.postgresql.psycopg"])
    barrier = context.Barrier(PROCESSES)
    tasks = [context.Queue() for _ in range(PROCESSES)]
    results = context.Queue()
    processes = [
        context.Process(
            target=worker.arm_when_released,
            args=(pg_url, kit.inputs(), kit.PHRASE, barrier, tasks[i], results),
            daemon=True,
        )
        for i in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    try:
        for round_no in range(ROUNDS):
            now = kit.T0 + timedelta(minutes=round_no)
            kit.reconcile(engine, at=now)
            runs = [kit.new_run(engine, RunMode.LIVE) for _ in range(PROCESSES)]
            for queue, run in zip(tasks, runs, strict=True):
                queue.put((round_no, str(run.run_id), now.isoformat()))
            outcomes = [results.get(timeout=120) for _ in range(PROCESSES)]
            assert {o[0] for o in outcomes} == {round_no}
            kinds = Counter(o[2] for o in outcomes)
            assert kinds == {"ARMED": 1, "REFUSED": PROCESSES - 1}, outcomes
            winner = next(o[3] for o in outcomes if o[2] == "ARMED")
            assert {o[3] for o in outcomes if o[2] == "REFUSED"} == {winner}
            active = list_runs(engine, engine_id="MAIN", statuses=[RunStatus.ARMED])
            assert [str(r.run_id) for r in active] == [winner]
            assert all(
                get_run(engine, r.run_id).status is RunStatus.CREATED
                for r in runs
                if str(r.run_id) != winner
            )
            halt_run(engine, active[0].run_id, f"race round {round_no} done", now=now)
            stop_run(engine, active[0].run_id, now=now)
    finally:
        for queue in tasks:
            queue.put(None)
        for process in processes:
            process.join(timeout=30)
        engine.dispose()
    assert [p.exitcode for p in processes] == [0] * PROCESSES
