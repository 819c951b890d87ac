"""Worker process of the arming race test (imported by spawned processes, not collected)."""

from __future__ import annotations

import uuid
from datetime import datetime
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from typing import Any

from mqk_db import ArmingInputs, LiveRunAlreadyActive, arm_run, make_engine


def arm_when_released(
    url: str,
    inputs: ArmingInputs,
    phrase: str,
    barrier: Barrier,
    tasks: Queue[Any],
    results: Queue[Any],
) -> None:
    """For each (round, run id, now) task: wait at the barrier, then try to arm the run."""
    engine = make_engine(url, pool_size=1)
    with engine.connect():
        pass  # open the pooled connection before the first round
    try:
        while (task := tasks.get()) is not None:
            round_no, run_id, now_iso = task
            now = datetime.fromisoformat(now_iso)
            barrier.wait(timeout=60)
            try:
                arm_run(engine, uuid.UUID(run_id), inputs, confirmation=phrase, now=now)
            except LiveRunAlreadyActive as refused:
                results.put((round_no, run_id, "REFUSED", str(refused.active_run_id)))
            except Exception as unexpected:  # reported to the parent, which fails the test
                results.put((round_no, run_id, "ERROR", repr(unexpected)))
            else:
                results.put((round_no, run_id, "ARMED", run_id))
    finally:
        engine.dispose()
