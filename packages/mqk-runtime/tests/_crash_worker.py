"""Child process of the crash tests: one PAPER session, killed by ``MQK_FAILPOINT`` if set.

Usage: ``python _crash_worker.py DB_URL RUN_ID|- SCENARIO`` (scenarios in ``SCENARIOS``).
"""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from runtime_support import SCENARIOS, registry

from mqk_db import make_engine
from mqk_runtime import Failpoints, run_paper


def main(url: str, run: str, scenario: str) -> None:
    cfg, bars, faults = SCENARIOS[scenario]()
    db = make_engine(url)
    try:
        summary = run_paper(
            db,
            cfg,
            bars,
            resume=None if run == "-" else uuid.UUID(run),
            registry=registry(),
            faults=faults,
            failpoints=Failpoints.from_env(os.environ),
        )
    finally:
        db.dispose()
    print(summary.run_id, summary.status, summary.halt_reason)


if __name__ == "__main__":
    main(*sys.argv[1:4])
