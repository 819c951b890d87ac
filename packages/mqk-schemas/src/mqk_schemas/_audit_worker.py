"""The helper process of :class:`~mqk_schemas.AuditSpool`: chains envelope entries into a file.

Run as ``python -m mqk_schemas._audit_worker PATH RUN_ID ENGINE_ID``. It reads frames from
stdin (an 8-byte little-endian length, then a pickled list of envelope entries, which continue
the previous frame's ``seq``), writes their chained lines to PATH exactly as the in-process
path does (:func:`~mqk_schemas.envelope_lines`, then :class:`~mqk_schemas.AuditChain`), and at
the end of its input prints its report: ``{"events": N, "last_hash": "...", "peak_rss_kib":
K}``. Only the spool's own pipe feeds it (it unpickles what it reads, as
:mod:`multiprocessing` does).
"""

from __future__ import annotations

import gc
import json
import os
import sys
import uuid
from pathlib import Path

from mqk_schemas.audit_spool import chain_into, read_frames


def main(argv: list[str]) -> int:
    """Chain stdin's frames into ``argv[0]`` for run ``argv[1]`` of engine ``argv[2]``."""
    path, run_id, engine_id = argv
    # nothing this process makes forms a cycle, and the cyclic collector would rescan the
    # entries of every frame it unpickles (about five times the unpickling itself)
    gc.disable()
    events, last_hash = chain_into(
        Path(path), uuid.UUID(run_id), engine_id, read_frames(sys.stdin.buffer)
    )
    report = {"events": events, "last_hash": last_hash, "peak_rss_kib": _peak_rss_kib()}
    sys.stdout.write(json.dumps(report))
    return 0


def _peak_rss_kib() -> int | None:
    """This process's own peak resident memory (Linux's VmHWM; None elsewhere). Not
    ``getrusage``: that counts the parent's memory the process briefly shared before exec."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return None


if __name__ == "__main__":
    code = main(sys.argv[1:])
    sys.stdout.flush()
    # the file is closed and the report flushed: skip the interpreter's teardown (freeing
    # every module of pydantic and polars takes tens of milliseconds the run waits for)
    os._exit(code)
